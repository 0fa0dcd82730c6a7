#pragma once
// A named table of a run's extra outputs (transfer.json, ard.json, components.json,
// separation.json, factors/factors.json, metrics.json's "details") and its one writer.
//
// It lives in the library, next to metrics.json's schema, because a C++ user who runs a model
// without the YAML app writes the same files and a report reads them the same way.
//
// Layout of a table as JSON (one object, keys in this order):
//
//   {"<attribute>": scalar or [scalars], ...,     // table-level facts (e.g. trained_n_fft)
//    "<child table>": {...},                      // nested named tables (same layout)
//    "<rows_key>": [{"<column>": cell, ...}, ...]} // one object per row, keys in column order
//
// Cells and attributes are booleans, integers, numbers, strings or lists of those; non-finite
// numbers are the strings "nan", "inf" and "-inf" as in metrics.json (metrics_json.h). A
// table without columns has no rows key. As CSV (when asked): a header of the columns, one
// line per row, lists joined by spaces, strings quoted where they hold a comma, quote or
// newline.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "factorch/eval/metrics_json.h"

namespace factorch::eval {

/// A cell or an attribute: one scalar, or a list of scalars.
class TableValue {
 public:
  using Scalar = std::variant<bool, int64_t, double, std::string>;

  TableValue(bool v) : items_{Scalar(v)} {}
  TableValue(double v) : items_{Scalar(v)} {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TableValue(T v) : items_{Scalar(static_cast<int64_t>(v))} {}
  TableValue(std::string v) : items_{Scalar(std::move(v))} {}
  TableValue(const char* v) : TableValue(std::string(v)) {}
  TableValue(const std::vector<int64_t>& v) : items_(v.begin(), v.end()), list_(true) {}
  TableValue(const std::vector<double>& v) : items_(v.begin(), v.end()), list_(true) {}
  TableValue(const std::vector<std::string>& v) : items_(v.begin(), v.end()), list_(true) {}

  bool is_list() const { return list_; }
  /// The scalars: one unless is_list().
  const std::vector<Scalar>& items() const { return items_; }

 private:
  std::vector<Scalar> items_;
  bool list_ = false;
};

/// Ordered columns, rows of cells, ordered attributes and nested tables.
struct Table {
  std::string name;                  ///< file stem (<name>.json) or key inside a parent table
  std::vector<std::string> columns;  ///< order of each row's keys and of the CSV header
  std::string rows_key = "rows";     ///< the key of the rows in the JSON object
  std::vector<std::vector<TableValue>> rows;
  std::vector<std::pair<std::string, TableValue>> attributes;
  std::vector<Table> tables;         ///< nested, each under its name

  Table() = default;
  explicit Table(std::string name, std::vector<std::string> columns = {}, std::string rows_key = "rows")
      : name(std::move(name)), columns(std::move(columns)), rows_key(std::move(rows_key)) {}

  /// Sets an attribute (appended, or replaced in place when the key exists).
  Table& set(const std::string& key, TableValue value);
  /// Appends a row; throws factorch::Error naming the table when its size is not columns.size().
  Table& add_row(std::vector<TableValue> cells);
  /// Appends a nested table, serialised under its name.
  Table& add(Table table);
};

/// The JSON object of a table (layout above); throws factorch::Error on a key used twice.
Json table_json(const Table& table);

/// The CSV text of a table's rows (header, then one line per row).
std::string table_csv(const Table& table);

enum class TableFormat { Json, JsonAndCsv };

/// Writes <dir>/<table.name>.json (and .csv), each atomically: a reader sees the whole old
/// file or the whole new one. The CSV is written first, so a table's .json implies its .csv.
void write_table(const Table& table, const std::string& dir, TableFormat format = TableFormat::Json);

}  // namespace factorch::eval
