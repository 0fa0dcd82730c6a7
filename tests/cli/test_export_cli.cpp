// `factorch info` / `factorch export` on each model's natural artefacts: Φ of TL-NMF, every
// layer of L-NMF / DL-NMF, selected with --only; grid options refused where the model has
// no continuous frequency axis.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../test_support.h"
#include "factorch/train/checkpoint.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/tlnmf.h"

namespace fs = std::filesystem;
using namespace factorch;

namespace {
// A checkpoint as a finished run writes it (the CLI reads only the checkpoint).
void write_checkpoint(const std::string& path, const std::string& type, const NamedTensors& factors,
                      const FactorDescriptions& descriptions) {
  io::Checkpoint ck;
  ck.model_type = type;
  ck.config_yaml = "model:\n  type: " + type + "\n";
  ck.factors = factors;
  ck.descriptions = descriptions;  // the model's describe_factors(), as the run writer stores it
  ck.train_state.iteration = 3;
  ck.train_state.history = {{0, 2.0, 0.0, 0.0}, {3, 1.0, 0.5, 0.1}};
  io::save_checkpoint(path, ck);
}
}  // namespace

TEST(ExportCli, EveryModelsArtefactsListedAndExported) {
  testkit::TempDir dir;
  const std::string cwd = dir.path().string();
  torch::manual_seed(0);
  // TL-NMF: Φ (M × M orthogonal), W, H.
  NamedTensors tl;
  tl.insert("Phi", std::get<0>(torch::linalg_qr(torch::randn({6, 6}, torch::kFloat64))));
  tl.insert("W", torch::rand({6, 2}, torch::kFloat64));
  tl.insert("H", torch::rand({2, 9}, torch::kFloat64));
  write_checkpoint(dir / "tl.pt", "tlnmf", tl, TLNMF(TLNMFOptions(6, 9, 2))->describe_factors());
  auto r = testkit::run_factorch("info tl.pt", cwd);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("learnt orthogonal transform"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("W on any frequency grid"), std::string::npos) << r.out;
  r = testkit::run_factorch("export tl.pt --only Phi --out tl", cwd);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "tl/factors/Phi.npy"), *tl.find("Phi")));
  EXPECT_FALSE(fs::exists(dir.path() / "tl/factors/W.npy"));  // --only keeps Φ alone
  EXPECT_NE(r.out.find("exported 1 factor of tl.pt"), std::string::npos) << r.out;
  // Grid sampling needs a dictionary on a continuous frequency axis.
  r = testkit::run_factorch("export tl.pt --n-fft 64 --out grid", cwd);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no dictionary on a continuous frequency axis"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "grid"));

  // L-NMF / DL-NMF: one dictionary per layer (and per-source blocks), both formats.
  NamedTensors dl;
  dl.insert("W1", torch::rand({8, 4}, torch::kFloat64));
  dl.insert("W2", torch::rand({4, 3}, torch::kFloat64));
  dl.insert("H", torch::rand({3, 5}, torch::kFloat64));
  dl.insert("speech_W1", torch::rand({8, 2}, torch::kFloat64));
  write_checkpoint(dir / "dl.pt", "dlnmf", dl,
                   DiscriminativeLayeredNMF(DiscriminativeLayeredNMFOptions(8, 5, {4, 3}, 2).source_names({"speech", "noise"}))
                       ->describe_factors());
  r = testkit::run_factorch("info dl.pt", cwd);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("dictionary of layer 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layer-1 dictionary block of source speech"), std::string::npos) << r.out;
  r = testkit::run_factorch("export dl.pt --only W1,W2 --format both --out dl", cwd);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* name : {"W1", "W2"})
    EXPECT_TRUE(torch::equal(io::load_npy(dir / ("dl/factors/" + std::string(name) + ".npy")), *dl.find(name))) << name;
  const auto pt = io::load_tensors_pt(dir / "dl/factors.pt");
  EXPECT_EQ(pt.size(), 2u);
  EXPECT_TRUE(torch::equal(*pt.find("W2"), *dl.find("W2")));
  // Usage errors: one line, non-zero status, nothing written.
  for (const std::string bad : {"dl.pt --out x --format csv", "dl.pt", "dl.pt tl.pt --out x", "dl.pt --only W9 --out x"}) {
    r = testkit::run_factorch("export " + bad, cwd);
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "x")) << bad;
  }
}
