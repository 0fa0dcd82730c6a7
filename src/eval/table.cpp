#include "factorch/eval/table.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::eval {

namespace {

Json scalar_json(const TableValue::Scalar& s) {
  return std::visit([](const auto& v) { return Json(v); }, s);
}

Json value_json(const TableValue& v) {
  if (!v.is_list()) return scalar_json(v.items().front());
  Json list = Json::array();
  for (const auto& s : v.items()) list.push(scalar_json(s));
  return list;
}

// A CSV field: numbers as in the JSON (shortest exact form; nan/inf bare), strings quoted
// only where they must be.
std::string scalar_csv(const TableValue::Scalar& s) {
  if (const auto* d = std::get_if<double>(&s)) {
    if (!std::isfinite(*d)) return std::isnan(*d) ? "nan" : (*d > 0 ? "inf" : "-inf");
    return Json(*d).dump(0);
  }
  if (const auto* i = std::get_if<int64_t>(&s)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&s)) return *b ? "true" : "false";
  return std::get<std::string>(s);
}

std::string csv_field(const TableValue& v) {
  std::string text;
  for (size_t i = 0; i < v.items().size(); ++i) text += (i ? " " : "") + scalar_csv(v.items()[i]);
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

}  // namespace

Table& Table::set(const std::string& key, TableValue value) {
  const auto it = std::find_if(attributes.begin(), attributes.end(), [&](const auto& a) { return a.first == key; });
  if (it != attributes.end()) it->second = std::move(value);
  else attributes.emplace_back(key, std::move(value));
  return *this;
}

Table& Table::add_row(std::vector<TableValue> cells) {
  require(cells.size() == columns.size(), "table '" + name + "': a row of " + std::to_string(cells.size()) +
                                              " cells for " + std::to_string(columns.size()) + " columns");
  rows.push_back(std::move(cells));
  return *this;
}

Table& Table::add(Table table) {
  tables.push_back(std::move(table));
  return *this;
}

Json table_json(const Table& table) {
  std::vector<std::string> keys;
  const auto claim = [&](const std::string& key) {
    require(std::find(keys.begin(), keys.end(), key) == keys.end(),
            "table '" + table.name + "': the key '" + key + "' is used twice");
    keys.push_back(key);
  };
  Json out = Json::object();
  for (const auto& [key, value] : table.attributes) {
    claim(key);
    out.set(key, value_json(value));
  }
  for (const Table& child : table.tables) {
    claim(child.name);
    out.set(child.name, table_json(child));
  }
  if (table.columns.empty()) return out;
  claim(table.rows_key);
  for (size_t i = 0; i < table.columns.size(); ++i)
    require(std::find(table.columns.begin(), table.columns.begin() + i, table.columns[i]) == table.columns.begin() + i,
            "table '" + table.name + "': the column '" + table.columns[i] + "' is used twice");
  Json rows = Json::array();
  for (const auto& r : table.rows) {
    Json row = Json::object();
    for (size_t c = 0; c < table.columns.size(); ++c) row.set(table.columns[c], value_json(r[c]));
    rows.push(std::move(row));
  }
  out.set(table.rows_key, std::move(rows));
  return out;
}

std::string table_csv(const Table& table) {
  std::string text;
  for (size_t c = 0; c < table.columns.size(); ++c) text += (c ? "," : "") + csv_field(table.columns[c]);
  text += "\n";
  for (const auto& r : table.rows) {
    for (size_t c = 0; c < r.size(); ++c) text += (c ? "," : "") + csv_field(r[c]);
    text += "\n";
  }
  return text;
}

void write_table(const Table& table, const std::string& dir, TableFormat format) {
  require(!table.name.empty(), "write_table: the table has no name (its file stem)");
  const std::filesystem::path base = std::filesystem::path(dir) / table.name;
  const Json json = table_json(table);  // checked before anything is written
  if (format == TableFormat::JsonAndCsv) io::write_file_atomically(base.string() + ".csv", table_csv(table));
  write_json(base.string() + ".json", json);
}

}  // namespace factorch::eval
