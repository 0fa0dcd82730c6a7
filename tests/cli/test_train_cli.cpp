// The train / export / info workflow: outputs, resume equals an uninterrupted run (bitwise),
// init_from for fine-tuning, and bad input → one-line error, exit 2, nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <tuple>

#include <filesystem>

#include "../test_support.h"
#include "app/run.h"
#include "factorch/io/npy.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {
// history.csv without its last (wall-clock seconds) column.
std::string without_seconds(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

std::string base_config(const std::string& input, const std::string& out, const std::string& extra_trainer = "") {
  return "model: {type: nmf, rank: 3, beta: 1, seed: 4}\n"
         "data: {input: " + input + "}\n"
         "trainer: {max_iter: 20, tol: 0, progress: never" + extra_trainer + "}\n"
         "output: {dir: " + out + "}\n";
}
void make_data(const std::string& path, uint64_t seed, int64_t N = 25) {
  torch::manual_seed(seed);
  io::save_npy(path, torch::mm(torch::rand({16, 3}, torch::kFloat64), torch::rand({3, N}, torch::kFloat64)) + 0.01);
}
}  // namespace

TEST(TrainCli, WritesEveryOutput) {
  testkit::TempDir dir;
  make_data(dir / "x.npy", 1);
  testkit::write_text(dir / "cfg.yaml", base_config("x.npy", "run"));
  const auto r = testkit::run_factorch("train cfg.yaml --quiet", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* f : {"config.resolved.yaml", "history.csv", "checkpoint.pt", "factors/W.npy", "factors/H.npy", "factors.pt",
                        "report.html", "figures/W.png", "figures/objective.png"})
    EXPECT_TRUE(fs::exists(dir.path() / "run" / f)) << f;
  EXPECT_EQ(io::load_npy(dir / "run/factors/W.npy").sizes(), (std::vector<int64_t>{16, 3}));
  const std::string history = testkit::read_text(dir / "run/history.csv");
  EXPECT_EQ(history.rfind("iter,objective,rel_change,seconds\n0,", 0), 0u);
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 22);  // header + iterations 0..20
  // No temporary files left behind.
  for (const auto& e : fs::recursive_directory_iterator(dir.path() / "run"))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();

  const auto info = testkit::run_factorch("info run/checkpoint.pt", dir.path().string());
  EXPECT_EQ(info.status, 0);
  EXPECT_NE(info.out.find("iterations  20"), std::string::npos) << info.out;
  const auto exp = testkit::run_factorch("export run/checkpoint.pt --format npy --out exported", dir.path().string());
  ASSERT_EQ(exp.status, 0) << exp.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "exported/factors/H.npy"), io::load_npy(dir / "run/factors/H.npy")));
  const auto cfg_doc = testkit::run_factorch("config trainer", dir.path().string());
  EXPECT_NE(cfg_doc.out.find("max_iter"), std::string::npos);
}

TEST(TrainCli, ResumeEqualsAnUninterruptedRunBitwise) {
  testkit::TempDir dir;
  make_data(dir / "x.npy", 2);
  for (const std::string trainer : {"", ", kind: autograd, optimizer: adam, lr: 0.01"}) {
    const Config half = Config::parse(base_config(dir / "x.npy", dir / "half", trainer), "half.yaml", {"trainer.max_iter=10"});
    app::run_training(half, {std::nullopt, true, true});
    const Config resumed = Config::parse(base_config(dir / "x.npy", dir / "resumed", trainer), "resumed.yaml");
    app::run_training(resumed, {dir / "half/checkpoint.pt", true, true});
    const Config whole = Config::parse(base_config(dir / "x.npy", dir / "whole", trainer), "whole.yaml");
    app::run_training(whole, {std::nullopt, true, true});
    for (const char* f : {"W", "H"}) {
      EXPECT_TRUE(torch::equal(io::load_npy(dir / ("resumed/factors/" + std::string(f) + ".npy")),
                               io::load_npy(dir / ("whole/factors/" + std::string(f) + ".npy"))))
          << f << " trainer" << trainer;
    }
    // Same iterations and objectives (the seconds column is wall time and differs).
    EXPECT_EQ(without_seconds(testkit::read_text(dir / "resumed/history.csv")),
              without_seconds(testkit::read_text(dir / "whole/history.csv")));
  }
}

TEST(TrainCli, ResumeOnAnotherDtypeAndInitFromForFineTuning) {
  testkit::TempDir dir;
  make_data(dir / "x.npy", 3);
  make_data(dir / "y.npy", 4, 40);
  testkit::write_text(dir / "cfg.yaml", base_config("x.npy", "run"));
  ASSERT_EQ(testkit::run_factorch("train cfg.yaml -q", dir.path().string()).status, 0);
  auto r = testkit::run_factorch("train cfg.yaml -q --resume run/checkpoint.pt --dtype float32 --set trainer.max_iter=30 --out run32",
                                 dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("nothing to train"), std::string::npos) << r.err;
  EXPECT_EQ(io::load_npy(dir / "run32/factors/W.npy").scalar_type(), torch::kFloat32);
  // max_iter counts the checkpoint's iterations too: asking for no more is an error that says so,
  // instead of "stopped after 20 iterations (max_iter)", exit 0 and the checkpoint's factors again.
  for (const std::string max_iter : {"5", "20"}) {
    const auto done = testkit::run_factorch("train cfg.yaml --resume run/checkpoint.pt --set trainer.max_iter=" +
                                                max_iter + " --out run5", dir.path().string());
    EXPECT_EQ(done.status, 2) << done.err;
    EXPECT_NE(done.err.find("factorch: error: run/checkpoint.pt has already run 20 iterations >= trainer.max_iter = " +
                            max_iter + " (--set trainer.max_iter=" + max_iter),
              std::string::npos) << done.err;
    EXPECT_NE(done.err.find("set trainer.max_iter above 20 to continue"), std::string::npos) << done.err;
    EXPECT_EQ(done.err.find("stopped after"), std::string::npos) << done.err;
    EXPECT_FALSE(fs::exists(dir / "run5"));
  }
  // The history continues the checkpoint's: its first 21 records (iterations 0..20, float64)
  // are copied unchanged — an ignored --resume would recompute them in float32 and differ —
  // then 21..30 follow, and the objective does not go up across the switch to float32
  // (MU is monotone; 1e-6 relative allows float32 rounding of the objective, eps ≈ 6e-8).
  const std::string before = without_seconds(testkit::read_text(dir / "run/history.csv"));
  const std::string after = without_seconds(testkit::read_text(dir / "run32/history.csv"));
  EXPECT_EQ(after.substr(0, before.size()), before);
  std::vector<double> objective;
  std::istringstream rows(after);
  std::string row;
  std::getline(rows, row);  // header
  for (int64_t i = 0; std::getline(rows, row); ++i) {
    EXPECT_EQ(std::stoll(row.substr(0, row.find(','))), i) << row;
    objective.push_back(std::stod(row.substr(row.find(',') + 1)));
  }
  ASSERT_EQ(objective.size(), 31u);
  for (size_t i = 21; i < objective.size(); ++i)
    EXPECT_LE(objective[i], objective[i - 1] * (1 + 1e-6)) << "iteration " << i;
  // Fit activations of new data (another N) on the learnt dictionary.
  r = testkit::run_factorch("train cfg.yaml -q --set data.input=y.npy --set model.init_from=run/factors.pt "
                            "--set model.fixed_w=true --out fitted",
                            dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "fitted/factors/W.npy"), io::load_npy(dir / "run/factors/W.npy")));
  EXPECT_EQ(io::load_npy(dir / "fitted/factors/H.npy").size(1), 40);
}

TEST(TrainCli, BadInputIsAOneLineErrorAndWritesNothing) {
  testkit::TempDir dir;
  make_data(dir / "x.npy", 5);
  testkit::write_text(dir / "corrupt.npy", "\x93NUMPY garbage");
  torch::Tensor bad = torch::rand({4, 4}, torch::kFloat64);
  bad[1][1] = -2.0;
  io::save_npy(dir / "negative.npy", bad);
  bad[1][1] = NAN;
  io::save_npy(dir / "nan.npy", bad);
  torch::Tensor zeros = torch::rand({4, 4}, torch::kFloat64);
  zeros[0][0] = 0.0;
  io::save_npy(dir / "zeros.npy", zeros);
  io::save_npy(dir / "w_wrong.npy", torch::rand({7, 3}, torch::kFloat64));
  testkit::write_text(dir / "cfg.yaml", base_config("x.npy", "out"));
  testkit::write_text(dir / "broken.yaml", "model: {type: nmf\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train missing.yaml", "missing.yaml"},
      {"train broken.yaml", "broken.yaml"},
      {"train cfg.yaml --set data.input=nope.npy", "nope.npy"},
      {"train cfg.yaml --set data.input=corrupt.npy", "corrupt.npy"},
      {"train cfg.yaml --set data.input=negative.npy", "negative"},
      {"train cfg.yaml --set data.input=nan.npy", "NaN"},
      {"train cfg.yaml --set data.input=zeros.npy --set model.beta=is", "eps"},
      {"train cfg.yaml --set 'model.init={W: w_wrong.npy}'", "w_wrong.npy"},
      {"train cfg.yaml --device tpu", "tpu"},
      {"train cfg.yaml --device cuda:7", "cuda"},
      {"train cfg.yaml --dtype float16", "float16"},
      {"train cfg.yaml --resume cfg.yaml", "cfg.yaml"},
      {"info x.npy", "x.npy"},
      {"export nothing.pt --format npy --out e", "nothing.pt"},
  };
  for (const auto& [args, needle] : cases) {
    const auto r = testkit::run_factorch(args, dir.path().string());
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("factorch: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << args;
    EXPECT_FALSE(fs::exists(dir.path() / "e")) << args;
  }
  EXPECT_EQ(testkit::run_factorch("", dir.path().string()).status, 1);
}

// A bad command line of any command: one line naming the problem and the command's --help,
// status 1 (usage), no help text dumped, nothing written.
TEST(TrainCli, UsageErrorsAreOneLineWithAPointerToHelp) {
  testkit::TempDir dir;
  make_data(dir / "x.npy", 5);
  testkit::write_text(dir / "cfg.yaml", base_config("x.npy", "out"));
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"train cfg.yaml --frobnicate", "train", "unknown option '--frobnicate'"},
      {"train", "train", "needs a CONFIG.yaml"},
      {"train cfg.yaml other.yaml", "train", "more than one config file"},
      {"train cfg.yaml --set", "train", "option --set needs a value"},
      {"separate", "separate", "needs a CONFIG.yaml"},
      {"separate cfg.yaml --nope", "separate", "unknown option '--nope'"},
      {"export run/checkpoint.pt --format npy", "export", "needs --out DIR"},
      {"export run/checkpoint.pt --format csv --out e", "export", "--format must be npy, pt or both"},
      {"info", "info", "needs a CHECKPOINT"},
      {"info a.pt b.pt", "info", "takes one CHECKPOINT"},
      {"config solver", "config", "unknown section 'solver'"},
      {"eval --ref x.wav", "eval", "need at least one --ref and one --est"},
  };
  for (const auto& [args, command, needle] : cases) {
    const auto r = testkit::run_factorch(args, dir.path().string());
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("factorch " + command + ": ", 0), 0u) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("(see `factorch " + command + " --help`)"), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << args;
    EXPECT_FALSE(fs::exists(dir.path() / "e")) << args;
  }
  const auto bogus = testkit::run_factorch("bogus", dir.path().string());
  EXPECT_EQ(bogus.status, 1);
  EXPECT_EQ(bogus.err, "factorch: unknown command 'bogus' (see `factorch --help`)\n");
}
