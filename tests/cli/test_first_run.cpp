// What a new user meets on a first run (issue 27): errors that name what the user typed and
// the file at fault, a resume or a start that cannot train says so and writes nothing, export
// says where its files are, and the documentation says what the run does (README, `config`).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <torch/cuda.h>

#include "../test_support.h"
#include "factorch/io/npy.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

std::string nmf_config(const std::string& input, const std::string& out, const std::string& model_extra = "") {
  return "model: {type: nmf, rank: 3, beta: 1, seed: 4" + model_extra + "}\n"
         "data: {input: " + input + "}\n"
         "trainer: {max_iter: 10, tol: 0, progress: never}\n"
         "output: {dir: " + out + "}\n";
}

void make_data(const std::string& path, int64_t F = 16, int64_t N = 25) {
  torch::manual_seed(7);
  io::save_npy(path, torch::mm(torch::rand({F, 3}, torch::kFloat64), torch::rand({3, N}, torch::kFloat64)) + 0.01);
}

// The objective column of a history.csv.
std::vector<double> objectives(const std::string& csv) {
  std::istringstream rows(csv);
  std::vector<double> out;
  std::string row;
  std::getline(rows, row);  // header
  while (std::getline(rows, row)) out.push_back(std::stod(row.substr(row.find(',') + 1)));
  return out;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(FirstRun, DeviceAndDtypeErrorsNameTheFlagTyped) {
  testkit::TempDir dir;
  make_data(dir / "x.npy");
  testkit::write_text(dir / "cfg.yaml", nmf_config("x.npy", "run"));
  if (!torch::cuda::is_available()) {
    const auto r = testkit::run_factorch("train cfg.yaml --device cuda", dir.path().string());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("factorch: error: --device cuda: trainer.device is 'cuda' but no CUDA GPU"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("--set"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "run"));
  }
  // --set still names itself, and so does --dtype.
  const auto set = testkit::run_factorch("train cfg.yaml --set trainer.device=tpu", dir.path().string());
  EXPECT_EQ(set.status, 2);
  EXPECT_NE(set.err.find("--set trainer.device=tpu: "), std::string::npos) << set.err;
  const auto dtype = testkit::run_factorch("train cfg.yaml --dtype float16", dir.path().string());
  EXPECT_EQ(dtype.status, 2);
  EXPECT_NE(dtype.err.find("--dtype float16"), std::string::npos) << dtype.err;
  EXPECT_EQ(dtype.err.find("--set"), std::string::npos) << dtype.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(FirstRun, InitFromNeedsTheSameShapesAndSaysWhichDiffer) {
  testkit::TempDir dir;
  make_data(dir / "x.npy");
  testkit::write_text(dir / "cfg.yaml", nmf_config("x.npy", "run"));
  ASSERT_EQ(testkit::run_factorch("train cfg.yaml -q --set model.rank=4 --out a", dir.path().string()).status, 0);
  // The README's walkthrough: the same rank starts from the checkpoint's factors.
  const auto same = testkit::run_factorch("train cfg.yaml -q --set model.rank=4 --set model.init_from=a/checkpoint.pt --out b",
                                          dir.path().string());
  ASSERT_EQ(same.status, 0) << same.err;
  // b starts where a ended: its initial objective is a's last one.
  const std::vector<double> a = objectives(testkit::read_text(dir / "a/history.csv"));
  const std::vector<double> b = objectives(testkit::read_text(dir / "b/history.csv"));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_NEAR(b.front(), a.back(), 1e-9 * a.back());
  EXPECT_LT(a.back(), 0.5 * a.front());  // (and a random start would be far from it)
  // Another rank: nothing fits, and the error says what the file has against what is needed.
  const auto other = testkit::run_factorch("train cfg.yaml -q --set model.init_from=a/checkpoint.pt --out c",
                                           dir.path().string());
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.err.find("model.init_from (a/checkpoint.pt) has no factor matching this model (W is 16x4 there, the "
                           "model needs 16x3; H is 4x25 there, the model needs 3x25"),
            std::string::npos)
      << other.err;
  EXPECT_FALSE(fs::exists(dir / "c"));
}

TEST(FirstRun, AnInfiniteInitialObjectiveLeavesNoRunDirectory) {
  testkit::TempDir dir;
  make_data(dir / "x.npy");
  // W = 0: V̂ = 0 and KL(V | 0) is infinite before the first step.
  io::save_npy(dir / "w0.npy", torch::zeros({16, 3}, torch::kFloat64));
  testkit::write_text(dir / "cfg.yaml", nmf_config("x.npy", "run", ", init: {W: w0.npy}"));
  const auto r = testkit::run_factorch("train cfg.yaml", dir.path().string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("the initial objective is not finite"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run/config.resolved.yaml"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(FirstRun, DataErrorsNameTheFile) {
  testkit::TempDir dir;
  torch::Tensor X = torch::rand({16, 25}, torch::kFloat64);
  X[3][4] = -0.5;
  X[5][6] = -0.25;
  io::save_npy(dir / "neg.npy", X);
  testkit::write_text(dir / "cfg.yaml", nmf_config("neg.npy", "run"));
  const auto r = testkit::run_factorch("train cfg.yaml", dir.path().string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("factorch: error: cfg.yaml:2: data.input (neg.npy): data: data has 2 negative entries"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(FirstRun, ExportSaysWhereItsFilesAre) {
  testkit::TempDir dir;
  make_data(dir / "x.npy");
  testkit::write_text(dir / "cfg.yaml", nmf_config("x.npy", "run"));
  ASSERT_EQ(testkit::run_factorch("train cfg.yaml -q", dir.path().string()).status, 0);
  const auto npy = testkit::run_factorch("export run/checkpoint.pt --format npy --out exported/", dir.path().string());
  ASSERT_EQ(npy.status, 0) << npy.err;
  EXPECT_EQ(npy.out, "exported 2 factors of run/checkpoint.pt to exported/factors/{W,H}.npy\n");
  EXPECT_TRUE(fs::exists(dir / "exported/factors/W.npy"));
  EXPECT_TRUE(fs::exists(dir / "exported/factors/H.npy"));
  const auto both = testkit::run_factorch("export run/checkpoint.pt --format both --only W --out e2", dir.path().string());
  ASSERT_EQ(both.status, 0) << both.err;
  EXPECT_EQ(both.out, "exported 1 factor of run/checkpoint.pt to e2/factors/W.npy and e2/factors.pt\n");
  EXPECT_TRUE(fs::exists(dir / "e2/factors/W.npy"));
  EXPECT_TRUE(fs::exists(dir / "e2/factors.pt"));
}

TEST(FirstRun, SupervisedNmfRankIsPerSourceAsConfigSays) {
  testkit::TempDir dir;
  // What the documentation of model.rank says...
  const auto doc = testkit::run_factorch("config model", dir.path().string());
  ASSERT_EQ(doc.status, 0);
  // "  rank  (integer, ...)  [nmf, nmf_audio]\n      <doc>\n"
  const size_t at = doc.out.find("\n  rank  (");
  ASSERT_NE(at, std::string::npos) << doc.out;
  const size_t doc_line = doc.out.find('\n', at + 1);
  const std::string entry = doc.out.substr(at + 1, doc.out.find('\n', doc_line + 1) - at - 1);
  EXPECT_NE(entry.find("[nmf, nmf_audio]"), std::string::npos) << entry;
  EXPECT_NE(entry.find("K per source"), std::string::npos) << entry;
  // ...is what supervised separation does: rank 3 and two notes give W with 6 columns.
  const auto r = testkit::run_factorch(std::string("separate ") + testkit::kSourceDir +
                                           "/configs/nmf_separate_toy.yaml -q --set model.rank=3 --set trainer.max_iter=20 "
                                           "--out sep",
                                       dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(io::load_npy(dir / "sep/factors/W.npy").size(1), 6);
}

TEST(FirstRun, OnlineNmfReportDrawsWhatTheReadmeTableSays) {
  testkit::TempDir dir;
  make_data(dir / "v.npy", 16, 200);
  testkit::write_text(dir / "o.yaml",
                      "model: {type: online_nmf, rank: 2}\ndata: {input: v.npy, batch_size: 50, holdout_every: 4}\n"
                      "trainer: {max_iter: 2, progress: never}\noutput: {dir: run}\n");
  ASSERT_EQ(testkit::run_factorch("train o.yaml -q", dir.path().string()).status, 0);
  EXPECT_TRUE(fs::exists(dir / "run/figures/W.png"));
  const bool draws_h = fs::exists(dir / "run/figures/H.png");
  // The README's table of report figures: online_nmf's row, and whether a row naming it lists H.
  std::istringstream readme(testkit::read_text(std::string(testkit::kSourceDir) + "/README.md"));
  bool listed_with_h = false, found = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| ", 0) != 0 || line.find("`online_nmf`") == std::string::npos) continue;
    if (line.find("figure") != std::string::npos && line.find("model") != std::string::npos) continue;  // header
    found = true;
    if (line.find("activations H") != std::string::npos) listed_with_h = true;
  }
  ASSERT_TRUE(found) << "README.md has no row for online_nmf in the table of report figures";
  EXPECT_EQ(listed_with_h, draws_h) << "README.md's figure table and online_nmf's report disagree about H";
}

TEST(FirstRun, NprocWithAnInitThatNeedsEveryColumnSaysSoOnce) {
  testkit::TempDir dir;
  make_data(dir / "x.npy");
  testkit::write_text(dir / "cfg.yaml", nmf_config("x.npy", "run", ", init: nndsvda"));
  const auto r = testkit::run_factorch("train cfg.yaml --nproc 2", dir.path().string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(count(r.err, "factorch: error:"), 1) << r.err;
  EXPECT_NE(r.err.find("model.init is nndsvda, which needs the whole of V at once"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker rank"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
  // A resume with nothing left to train, too, before any worker starts.
  testkit::write_text(dir / "r.yaml", nmf_config("x.npy", "run"));
  ASSERT_EQ(testkit::run_factorch("train r.yaml -q", dir.path().string()).status, 0);
  const auto resumed = testkit::run_factorch("train r.yaml --nproc 2 --resume run/checkpoint.pt --out again",
                                             dir.path().string());
  EXPECT_EQ(resumed.status, 2);
  EXPECT_EQ(count(resumed.err, "factorch: error:"), 1) << resumed.err;
  EXPECT_NE(resumed.err.find("nothing to train"), std::string::npos) << resumed.err;
  EXPECT_FALSE(fs::exists(dir / "again"));
}
