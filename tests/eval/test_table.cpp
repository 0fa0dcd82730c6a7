// The one writer of a run's extra tables (factorch/eval/table.h): written, read back through
// nlohmann (column order, every cell's type and exact value, the NaN/Inf strings, attributes
// and nested tables), its CSV, and bad rows refused before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "factorch/error.h"
#include "factorch/eval/table.h"
#include "../test_support.h"

namespace ev = factorch::eval;
namespace testkit = factorch::testkit;
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {
const double kInf = std::numeric_limits<double>::infinity();

ev::Table sample() {
  ev::Table t("transfer", {"n_fft", "method", "ratio", "kept", "sdr"});
  t.set("trained_n_fft", 256).set("joint_n_fft", std::vector<int64_t>{512, 1024}).set("note", "a, \"b\"");
  t.add_row({int64_t{384}, "iN-NMF", 1.0 / 3.0, true, std::nan("")});
  t.add_row({512, "NMF, per size", -2.5e-7, false, kInf});
  t.add_row({1024, "x", 7.0, false, -kInf});
  ev::Table child("margins", {"k", "gaps"});
  child.add_row({10, std::vector<double>{0.25, -kInf}});
  t.add(child);
  return t;
}
}  // namespace

TEST(Table, JsonRoundTripKeepsColumnOrderTypesAndNonFiniteStrings) {
  testkit::TempDir dir;
  ev::write_table(sample(), dir.path().string(), ev::TableFormat::JsonAndCsv);
  const json j = json::parse(testkit::read_text(dir / "transfer.json"));
  // Attributes first, then nested tables, then the rows, in the order they were given.
  std::vector<std::string> keys;
  for (const auto& kv : j.items()) keys.push_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"trained_n_fft", "joint_n_fft", "note", "margins", "rows"}));
  EXPECT_EQ(j["trained_n_fft"].get<int64_t>(), 256);
  EXPECT_TRUE(j["trained_n_fft"].is_number_integer());
  EXPECT_EQ(j["joint_n_fft"], json::parse("[512, 1024]"));
  EXPECT_EQ(j["note"], "a, \"b\"");
  ASSERT_EQ(j["rows"].size(), 3u);
  for (const auto& row : j["rows"]) {
    std::vector<std::string> columns;
    for (const auto& kv : row.items()) columns.push_back(kv.key());
    EXPECT_EQ(columns, (std::vector<std::string>{"n_fft", "method", "ratio", "kept", "sdr"}));
  }
  const json& r0 = j["rows"][0];
  EXPECT_TRUE(r0["n_fft"].is_number_integer());
  EXPECT_EQ(r0["n_fft"].get<int64_t>(), 384);
  EXPECT_EQ(r0["method"], "iN-NMF");
  EXPECT_EQ(r0["ratio"].get<double>(), 1.0 / 3.0) << "exact, not rounded";
  EXPECT_EQ(r0["kept"], true);
  EXPECT_EQ(r0["sdr"], "nan");
  EXPECT_EQ(j["rows"][1]["ratio"].get<double>(), -2.5e-7);
  EXPECT_EQ(j["rows"][1]["sdr"], "inf");
  EXPECT_EQ(j["rows"][2]["sdr"], "-inf");
  EXPECT_TRUE(j["rows"][2]["ratio"].is_number_float());
  EXPECT_EQ(j["margins"], json::parse(R"({"rows": [{"k": 10, "gaps": [0.25, "-inf"]}]})"));

  EXPECT_EQ(testkit::read_text(dir / "transfer.csv"),
            "n_fft,method,ratio,kept,sdr\n"
            "384,iN-NMF,0.3333333333333333,true,nan\n"
            "512,\"NMF, per size\",-2.5e-07,false,inf\n"
            "1024,x,7.0,false,-inf\n");
}

TEST(Table, WithoutColumnsIsItsAttributesAndOwnRowsKey) {
  ev::Table t("ard", {"component", "norm"}, "components");
  t.set("rank", 2).set("rank", 3);  // replaced in place
  t.add_row({0, 1.5});
  EXPECT_EQ(ev::table_json(t).dump(0), R"({"rank":3,"components":[{"component":0,"norm":1.5}]})");
  ev::Table facts("details");
  facts.set("model", "TL-NMF");
  EXPECT_EQ(ev::table_json(facts).dump(0), R"({"model":"TL-NMF"})");
  EXPECT_EQ(ev::table_json(ev::Table("empty", {"a"})).dump(0), R"({"rows":[]})");
}

TEST(Table, BadRowsAndKeysAreOneErrorAndNothingIsWritten) {
  ev::Table t("t", {"a", "b"});
  const std::string e = testkit::error_of([&] { t.add_row({1}); });
  EXPECT_NE(e.find("table 't': a row of 1 cells for 2 columns"), std::string::npos) << e;
  testkit::TempDir dir;
  ev::Table dup("dup", {"x", "x"});
  dup.add_row({1, 2});
  EXPECT_NE(testkit::error_of([&] { ev::write_table(dup, dir.path().string(), ev::TableFormat::JsonAndCsv); })
                .find("the column 'x' is used twice"),
            std::string::npos);
  ev::Table clash("clash", {"v"});
  clash.set("rows", 1);
  EXPECT_NE(testkit::error_of([&] { ev::write_table(clash, dir.path().string()); }).find("the key 'rows' is used twice"),
            std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}
