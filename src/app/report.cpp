// report.html: one static page per run directory (see app/report.h). No script at all, so
// it opens from the file system in any browser without console errors; CSS is inline.
#include "app/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <tuple>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "app/json_file.h"
#include "report_inputs.h"

#ifndef FACTORCH_VERSION
#define FACTORCH_VERSION "dev"
#endif

namespace factorch::app {

namespace fs = std::filesystem;

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

// Metric values as a reader wants them: integers as integers, dB with two decimals, tiny or
// huge values in 3 significant digits. The browser test parses these back (same rules).
std::string format_number(double v) {
  char buf[40];
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (v == std::round(v) && std::abs(v) < 1e9) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::abs(v) >= 0.01 && std::abs(v) < 1e5) std::snprintf(buf, sizeof buf, "%.2f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

using Json = nlohmann::ordered_json;

// A JSON scalar: a number (or the "nan"/"inf"/"-inf" strings of eval::Json) → num, else text.
std::string scalar_html(const Json& n, const std::string& key) {
  std::string shown, cls = "txt";
  if (const auto v = json_number(n)) {
    shown = format_number(*v);
    cls = "num";
  } else if (n.is_string()) {
    shown = n.get<std::string>();
  } else {
    shown = n.dump();  // true, false, null
  }
  return "<span class=\"" + cls + "\" data-key=\"" + escape(key) + "\">" + escape(shown) + "</span>";
}

bool is_scalar_list(const Json& n) {
  if (!n.is_array()) return false;
  for (const auto& e : n)
    if (e.is_structured()) return false;
  return true;
}

std::string join_key(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

// Leaves of a node (objects and arrays walked) as (relative key, html), in document order.
void leaves(const Json& n, const std::string& rel, const std::string& abs,
            std::vector<std::pair<std::string, std::string>>& out) {
  if (!n.is_structured()) {
    out.emplace_back(rel, scalar_html(n, abs));
  } else if (is_scalar_list(n)) {
    std::string html;
    size_t i = 0;
    for (const auto& e : n) html += (i ? ", " : "") + scalar_html(e, join_key(abs, std::to_string(i))), ++i;
    out.emplace_back(rel, html);
  } else if (n.is_array()) {
    size_t i = 0;
    for (const auto& e : n) leaves(e, join_key(rel, std::to_string(i)), join_key(abs, std::to_string(i)), out), ++i;
  } else {
    for (const auto& kv : n.items()) leaves(kv.value(), join_key(rel, kv.key()), join_key(abs, kv.key()), out);
  }
}

bool is_table(const Json& n) {
  if (!n.is_array() || n.empty()) return false;
  for (const auto& e : n)
    if (!e.is_object()) return false;
  return true;
}

// A metrics document (factorch/eval/metrics_table.h): an object with a table of sources.
bool is_scores(const Json& n) { return n.is_object() && n.contains("sources") && is_table(n["sources"]); }

// metrics.json's "mixtures": a table whose every row is a metrics document of its own.
bool is_scores_table(const Json& n) {
  if (!is_table(n)) return false;
  for (const auto& row : n)
    if (!is_scores(row)) return false;
  return true;
}

using Cells = std::vector<std::pair<std::string, std::string>>;  // (column, html)

void add_column(std::vector<std::string>& columns, const std::string& c) {
  if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
}

std::string cell(const Cells& cells, const std::string& column) {
  const auto it = std::find_if(cells.begin(), cells.end(), [&](const auto& c) { return c.first == column; });
  return it == cells.end() ? std::string() : it->second;
}

// metrics.json's per-mixture documents, long rather than wide: one row per (mixture, source)
// and one for each mixture's mean, so a few columns whatever the number of sources. The
// documents' other values (name, metric, ...) are a column when they vary and one line under
// the table when every document has the same. (Other files' scores are eval::Tables, long
// already: the generic grid below.)
std::string scores_table_html(const Json& n, const std::string& key) {
  struct Row {
    Cells lead;            // the document's varying values
    std::string source;    // html: the source's name (with its data-key), or "mean"
    Cells metrics;
  };
  std::vector<Row> rows;
  std::vector<std::string> lead_columns, metric_columns;
  // Each document's other values: relative key → (html, JSON text) per document.
  std::vector<std::vector<std::tuple<std::string, std::string, std::string>>> extras;
  std::vector<std::pair<size_t, size_t>> doc_rows;  // [first, end) rows of each document
  size_t i = 0;
  for (const auto& row : n) {
    const std::string doc_key = join_key(key, std::to_string(i++));  // the mixture's document
    extras.emplace_back();
    const size_t first = rows.size();
    for (const auto& kv : row.items()) {
      if (kv.key() == "sources" || kv.key() == "mean") continue;
      Cells c;
      leaves(kv.value(), kv.key(), join_key(doc_key, kv.key()), c);
      for (const auto& [col, html] : c) extras.back().emplace_back(col, html, kv.value().dump());
    }
    size_t j = 0;
    for (const auto& src : row["sources"]) {
      const std::string src_key = join_key(doc_key, "sources/" + std::to_string(j));
      Row r{{}, src.contains("name") ? scalar_html(src["name"], join_key(src_key, "name")) : "", {}};
      for (const auto& kv : src.items())
        if (kv.key() != "name") leaves(kv.value(), kv.key(), join_key(src_key, kv.key()), r.metrics);
      ++j;
      rows.push_back(std::move(r));
    }
    if (row.contains("mean")) {
      Row r{{}, "mean", {}};
      leaves(row["mean"], "", join_key(doc_key, "mean"), r.metrics);
      rows.push_back(std::move(r));
    }
    doc_rows.emplace_back(first, rows.size());
  }
  for (const auto& r : rows)
    for (const auto& [c, _] : r.metrics) add_column(metric_columns, c);
  // Values the same in every document: once, under the table; the others: columns.
  std::vector<std::string> varying, same_everywhere;
  std::string constant;
  for (const auto& [col, html, text] : extras.front()) {
    bool same = true;
    for (const auto& e : extras) {
      const auto it = std::find_if(e.begin(), e.end(), [&](const auto& x) { return std::get<0>(x) == col; });
      same = same && it != e.end() && std::get<2>(*it) == text;
    }
    if (!same) continue;
    same_everywhere.push_back(col);
    constant += (constant.empty() ? "" : " · ") + escape(col) + " " + html;
  }
  for (size_t d = 0; d < extras.size(); ++d)
    for (const auto& [col, html, text] : extras[d]) {
      if (std::find(same_everywhere.begin(), same_everywhere.end(), col) != same_everywhere.end()) continue;
      add_column(varying, col);
      for (size_t r = doc_rows[d].first; r < doc_rows[d].second; ++r) rows[r].lead.emplace_back(col, html);
    }
  for (const auto& c : varying) add_column(lead_columns, c);

  std::string html = "<table class=\"grid\"><caption>" + escape(key) + "</caption>\n<tr>";
  for (const auto& c : lead_columns) html += "<th>" + escape(c) + "</th>";
  html += "<th>source</th>";
  for (const auto& c : metric_columns) html += "<th>" + escape(c) + "</th>";
  html += "</tr>\n";
  // A value that the row above has too (the same cell of the same row or document) is
  // left blank: each value once, at the top of its group.
  const Row* above = nullptr;
  for (const auto& r : rows) {
    html += "<tr>";
    for (const auto& c : lead_columns) {
      const std::string v = cell(r.lead, c);
      html += "<td>" + (above && cell(above->lead, c) == v ? std::string() : v) + "</td>";
    }
    above = &r;
    html += "<td>" + r.source + "</td>";
    for (const auto& c : metric_columns) html += "<td>" + cell(r.metrics, c) + "</td>";
    html += "</tr>\n";
  }
  html += "</table>\n";
  if (!constant.empty()) html += "<p class=\"meta\">Every row: " + constant + "</p>\n";
  return html;
}

// One metrics file, every table the same way: an array of objects (metrics.json's "sources",
// the rows of an eval::Table, factorch/eval/table.h) is a grid, one row per element and one
// column per leaf, in order; every other value (a table's attributes) goes into the
// key/value summary above the grids. Each value carries its JSON path in data-key
// ("sources/0/sdr"). Scores in other files are long eval::Tables of a few columns (method,
// source, sdr, ...); only metrics.json's per-mixture documents have a layout of their own.
std::string metrics_html(const fs::path& file, const std::string& name) {
  const Json root = read_json_file(file);
  std::string html = "<div class=\"metrics\" data-file=\"" + escape(name) + "\">\n<h3>" + escape(name) + "</h3>\n";
  std::vector<std::pair<std::string, std::string>> summary;
  std::string tables;
  const auto walk = [&](const auto& self, const Json& n, const std::string& key) -> void {
    if (is_scores_table(n)) {
      tables += scores_table_html(n, key);
    } else if (is_table(n)) {
      std::vector<std::string> columns;
      std::vector<std::vector<std::pair<std::string, std::string>>> rows;
      size_t i = 0;
      for (const auto& e : n) {
        rows.emplace_back();
        leaves(e, "", join_key(key, std::to_string(i++)), rows.back());
        for (const auto& [c, _] : rows.back())
          if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
      }
      tables += "<table class=\"grid\"><caption>" + escape(key) + "</caption>\n<tr>";
      for (const auto& c : columns) tables += "<th>" + escape(c) + "</th>";
      tables += "</tr>\n";
      for (const auto& r : rows) {
        tables += "<tr>";
        for (const auto& c : columns) {
          const auto it = std::find_if(r.begin(), r.end(), [&](const auto& cell) { return cell.first == c; });
          tables += "<td>" + (it == r.end() ? std::string() : it->second) + "</td>";
        }
        tables += "</tr>\n";
      }
      tables += "</table>\n";
    } else if (n.is_object()) {
      for (const auto& kv : n.items()) self(self, kv.value(), join_key(key, kv.key()));
    } else {
      leaves(n, key, key, summary);
    }
  };
  walk(walk, root, "");
  if (!summary.empty()) {
    html += "<table class=\"kv\">\n";
    for (const auto& [k, v] : summary) html += "<tr><th>" + escape(k) + "</th><td>" + v + "</td></tr>\n";
    html += "</table>\n";
  }
  return html + tables + "</div>\n";
}

const char* kStyle = R"(
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;color:#222;line-height:1.4}
h1{font-size:1.6em;margin:18px 0 4px}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}
h3{font-size:1.05em;margin:14px 0 6px}.meta{color:#555;margin:0 0 8px}nav a{margin-right:14px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:0.92em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3;font-weight:600}td .num,td.num{font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:2px 0}
table.audio td{border:none;padding:4px 10px 4px 0}audio{width:420px;vertical-align:middle}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #ddd}figcaption{color:#444;font-size:0.92em}
pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow:auto;font-size:0.85em}
)";

}  // namespace

std::string write_run_report(const std::string& run_dir, const ReportOptions& options) {
  const RunInputs in = read_run_inputs(run_dir);  // checks that this is a run directory
  const std::vector<ReportFigure> figures = write_report_figures(run_dir, options);
  const std::string title = in.model_type.empty() ? "evaluation" : in.model_type;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<link rel=\"icon\" href=\"data:,\">\n";  // no favicon request
  fs::path run_name = fs::absolute(in.dir).lexically_normal();
  if (run_name.filename().empty()) run_name = run_name.parent_path();  // "runs/a/"
  html += "<title>factorch report: " + escape(title) + " — " + escape(run_name.filename().string()) +
          "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>factorch run report</h1>\n<p class=\"meta\">model.type <b>" + escape(title) + "</b> · directory <code>" +
          escape(in.dir.string()) + "</code> · factorch " FACTORCH_VERSION " · rebuild with <code>factorch report " +
          escape(in.dir.string()) + "</code></p>\n";

  std::vector<std::string> metric_files;
  for (const char* f : {"metrics.json", "baseline/metrics.json", "separation.json", "transfer.json", "ard.json",
                        "components.json"})
    if (fs::is_regular_file(in.dir / f)) metric_files.push_back(f);
  for (const std::string& d : in.nested_runs)
    if (fs::is_regular_file(in.dir / d / "metrics.json")) metric_files.push_back(d + "/metrics.json");
  html += "<nav>";
  if (!in.audio.empty()) html += "<a href=\"#audio\">Listen</a>";
  if (!metric_files.empty()) html += "<a href=\"#metrics\">Metrics</a>";
  if (!figures.empty()) html += "<a href=\"#figures\">Figures</a>";
  if (!in.config_text.empty()) html += "<a href=\"#config\">Configuration</a>";
  html += "</nav>\n";

  if (!in.audio.empty()) {
    // One table for a run of one mixture; with several, one table per mixture (its mixture,
    // sources and baselines' sources) under the mixture's name; one per nested separation.
    html += "<section id=\"audio\">\n<h2>Listen</h2>\n";
    std::optional<std::string> open;
    for (const AudioItem& a : in.audio) {
      if (!open || *open != a.mixture) {
        if (open) html += "</table>\n";
        // (A mixture's name is a file's stem: no '/'; a nested separation's folder ends in one.)
        if (!a.mixture.empty())
          html += "<h3>" + (a.mixture.back() == '/' ? std::string() : "Mixture ") + escape(a.mixture) + "</h3>\n";
        html += "<table class=\"audio\"" +
                (a.mixture.empty() ? std::string() : " data-mixture=\"" + escape(a.mixture) + "\"") + ">\n";
        open = a.mixture;
      }
      html += "<tr><td>" + escape(a.label) + "</td><td><audio controls preload=\"metadata\" src=\"" +
              relative_url(a.path, in.dir) + "\" data-group=\"" + escape(a.group) + "\"></audio></td></tr>\n";
    }
    html += "</table>\n</section>\n";
  }
  if (!metric_files.empty()) {
    html += "<section id=\"metrics\">\n<h2>Metrics</h2>\n<p>Separation scores in dB (BSS Eval: SDR, SIR, SAR; "
            "higher is better) and the other numbers the run wrote.</p>\n";
    for (const auto& f : metric_files) html += metrics_html(in.dir / f, f);
    html += "</section>\n";
  }
  if (!figures.empty()) {
    html += "<section id=\"figures\">\n<h2>Figures</h2>\n";
    for (const auto& f : figures)
      html += "<figure><img src=\"" + relative_url(in.dir / f.file, in.dir) + "\" alt=\"" + escape(f.caption) +
              "\"><figcaption>" + escape(f.caption) + "</figcaption></figure>\n";
    html += "</section>\n";
  }
  if (!in.config_text.empty())
    html += "<section id=\"config\">\n<h2>Configuration</h2>\n<p>config.resolved.yaml: every key with the value "
            "this run used.</p>\n<pre>" + escape(in.config_text) + "</pre>\n</section>\n";
  html += "</body>\n</html>\n";
  const std::string path = (in.dir / "report.html").string();
  io::write_file_atomically(path, html);
  return path;
}

std::string write_run_report_or_warn(const std::string& run_dir) {
  try {
    return write_run_report(run_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "factorch: warning: report.html not written: %s\n", e.what());
    return "";
  }
}

}  // namespace factorch::app
