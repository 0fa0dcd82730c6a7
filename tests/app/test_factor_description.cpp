// Models describe their own factors (factorch/models/factor_description.h): a model that no
// shared code knows — its type is in no registry, its factors are not called W and H — is
// written by the run writer, drawn by the report and described by `factorch info` from its
// description alone; every built-in model describes each factor it has.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "../test_support.h"
#include "app/config.h"
#include "app/experiments/registry.h"
#include "app/factor_manifest.h"
#include "app/report.h"
#include "app/run.h"
#include "factorch/models/factor_description.h"
#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/factor_model.h"
#include "factorch/models/multichannel_nmf.h"
#include "factorch/models/tlnmf.h"
#include "factorch/train/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using namespace factorch;

// V ≈ D·A with other names than NMF's, trained by autograd.
class TinyModelImpl : public FactorModelImpl {
 public:
  TinyModelImpl(int64_t F, int64_t K, int64_t N) {
    D_ = register_parameter("D", torch::rand({F, K}, torch::kFloat64) + 0.1);
    A_ = register_parameter("A", torch::rand({K, N}, torch::kFloat64) + 0.1);
  }
  std::string type() const override { return "tiny_test_model"; }
  torch::Tensor reconstruct() override { return torch::mm(D_, A_); }
  torch::Tensor loss(const TrainingData& data) override { return (reconstruct() - data.X).square().sum(); }
  void project() override {
    torch::NoGradGuard no_grad;
    D_.clamp_min_(0);
    A_.clamp_min_(0);
  }
  NamedTensors factors() override {
    NamedTensors out;
    out.insert("D", D_.detach().clone());
    out.insert("A", A_.detach().clone());
    return out;
  }
  FactorDescriptions describe_factors() override {
    return {{"D", FactorRole::Dictionary, "tiny dictionary, one template per column", FactorPlot::Image},
            {"A", FactorRole::Activations, "tiny activations, one row per template", FactorPlot::Image}};
  }
  void set_factor(const std::string& name, const torch::Tensor& value) override {
    torch::NoGradGuard no_grad;
    (name == "D" ? D_ : A_).copy_(value);
  }

 private:
  torch::Tensor D_, A_;
};

// The report draws the dictionary and the activations that the model describes, and `info`
// prints what the model says they are: no shared code names "tiny_test_model", "D" or "A".
// (On main the report looked for factors/W.npy and H.npy and info switched on the type:
// no figure, no meaning.)
TEST(FactorDescription, NewModelIsDrawnAndDescribedWithoutSharedCode) {
  testkit::TempDir dir;
  const int64_t F = 33, K = 3, N = 40;
  torch::manual_seed(0);
  TrainingData data(torch::rand({F, N}, torch::kFloat64));
  // Any registered type reads the trainer and output keys; the model itself is the new one.
  const Config c = Config::parse("model: {type: nmf, rank: 3}\ndata:\n  input: v.npy\n"
                                 "trainer: {kind: autograd, max_iter: 3, progress: never}\n"
                                 "output: {dir: " + (dir / "run") + "}\n",
                                 "tiny.yaml");
  app::RunOptions quiet;
  quiet.quiet = true;
  const app::RunResult run = app::fit_model(c, std::make_shared<TinyModelImpl>(F, K, N), data, quiet, dir / "run");
  ASSERT_TRUE(run.result.ok) << run.result.stop_reason;

  // The run writer wrote the description next to the factors.
  const auto manifest = app::read_factor_manifest(dir.path() / "run/factors");
  ASSERT_TRUE(manifest.has_value());
  ASSERT_EQ(manifest->size(), 2u);
  EXPECT_EQ((*manifest)[0].name, "D");
  EXPECT_EQ((*manifest)[0].role, FactorRole::Dictionary);
  EXPECT_EQ((*manifest)[1].meaning, "tiny activations, one row per template");

  std::vector<std::string> files;
  for (const auto& f : app::write_report_figures((dir / "run")))
    files.push_back(f.file);
  EXPECT_NE(std::find(files.begin(), files.end(), "figures/W.png"), files.end()) << "the dictionary D is drawn";
  EXPECT_NE(std::find(files.begin(), files.end(), "figures/H.png"), files.end()) << "the activations A are drawn";
  const std::string html = testkit::read_text(app::write_run_report(dir / "run"));
  EXPECT_NE(html.find("column k of D (tiny dictionary, one template per column)"), std::string::npos) << html;
  EXPECT_NE(html.find("(tiny activations, one row per template)"), std::string::npos);

  const auto info = testkit::run_factorch("info run/checkpoint.pt", dir.path().string());
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("model       tiny_test_model"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("tiny dictionary, one template per column"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("tiny activations, one row per template"), std::string::npos) << info.out;

  // `factorch export` keeps the description with the factors it writes (--only: its own).
  const auto exp = testkit::run_factorch("export run/checkpoint.pt --only A --out exported", dir.path().string());
  ASSERT_EQ(exp.status, 0) << exp.err;
  const auto exported = app::read_factor_manifest(dir.path() / "exported/factors");
  ASSERT_TRUE(exported.has_value());
  ASSERT_EQ(exported->size(), 1u);
  EXPECT_EQ(exported->front().role, FactorRole::Activations);
}

// A description that cannot be read is one error naming the file, not a silent page.
TEST(FactorDescription, BadManifestIsOneErrorNamingTheFile) {
  testkit::TempDir dir;
  fs::create_directories(dir.path() / "factors");
  testkit::write_text(dir / "factors/factors.json",
                      R"({"schema": "factorch-factors/1", "factors": [{"name": "D", "role": "dictionnary",
                          "meaning": "", "plot": "image", "grid": "", "axis": "", "layer": 0}]})");
  const std::string e = testkit::error_of([&] { app::read_factor_manifest(dir.path() / "factors"); });
  EXPECT_NE(e.find("factors.json: D: unknown factor role 'dictionnary'"), std::string::npos) << e;
}

// Every built-in model describes every factor it has, in the order of factors(), with a
// meaning, and names one dictionary (or the layers of one) for the shared code. (iN-NMF and
// online NMF need data or a stream first: their runs write the same factors.json.)
TEST(FactorDescription, EveryBuiltInModelDescribesEachOfItsFactors) {
  torch::manual_seed(0);
  const TrainingData V(torch::rand({17, 24}, torch::kFloat64) + 0.01);
  const auto built = [&](const std::string& type, const std::string& keys) {
    const Config c = Config::parse("model: {type: " + type + keys + "}\ndata: {input: v.npy}\noutput: {dir: x}\n", type + ".yaml");
    return build_model(model_entry(type), c, V);
  };
  const std::vector<std::pair<std::string, std::shared_ptr<FactorModelImpl>>> models = {
      {"nmf", built("nmf", ", rank: 3")},
      {"lnmf", built("lnmf", ", layers: [4, 2]")},
      {"tlnmf", std::make_shared<TLNMFImpl>(TLNMFOptions(8, 10, 2))},
      {"dlnmf", std::make_shared<DiscriminativeLayeredNMFImpl>(DiscriminativeLayeredNMFOptions(17, 24, {4, 2}, 2))},
      {"multichannel_nmf", std::make_shared<MultichannelNMFImpl>(MultichannelNMFOptions(2, 17, 24, 2, 3))}};
  for (const auto& [type, model] : models) {
    const NamedTensors f = model->factors();
    const FactorDescriptions d = model->describe_factors();
    ASSERT_EQ(d.size(), f.size()) << type;
    size_t i = 0;
    for (const auto& item : f) {
      EXPECT_EQ(d[i].name, item.key()) << type;
      EXPECT_FALSE(d[i].meaning.empty()) << type << " " << item.key();
      ++i;
    }
    EXPECT_TRUE(whole_factor(d, FactorRole::Dictionary) || !dictionary_layers(d).empty()) << type;
  }
}

}  // namespace
