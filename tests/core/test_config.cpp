// YAML config: validation errors name file, line and key; overrides; defaults; documentation.
#include <gtest/gtest.h>

#include "app/config.h"
#include "factorch/error.h"

using factorch::Config;

namespace {
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    Config::parse(yaml, "cfg.yaml", overrides);
  } catch (const factorch::Error& e) {
    return e.what();
  }
  return "";
}
const char* kValid = "model:\n  type: nmf\n  rank: 4\ndata:\n  input: x.npy\n";
}  // namespace

TEST(Config, ValidConfigGetsDefaults) {
  const Config c = Config::parse(kValid, "cfg.yaml");
  EXPECT_EQ(c.integer("model.rank"), 4);
  EXPECT_EQ(c.string("model.beta"), "1");
  EXPECT_EQ(c.string("trainer.kind"), "mu");
  EXPECT_EQ(c.integer("trainer.max_iter"), 200);
  EXPECT_DOUBLE_EQ(c.number("trainer.tol"), 1e-6);
  EXPECT_EQ(c.strings("output.formats"), (std::vector<std::string>{"npy", "pt"}));
  EXPECT_EQ(c.where("model.rank"), "cfg.yaml:3");
  // The resolved dump parses back to the same values.
  const Config again = Config::parse(c.dump(), "resolved.yaml");
  EXPECT_EQ(again.dump(), c.dump());
}

TEST(Config, ErrorsNameFileLineKeyAndValue) {
  EXPECT_EQ(error_of("model:\n  type: nmf\n  rank: -3\n"), "cfg.yaml:3: model.rank must be a positive integer, got -3");
  EXPECT_EQ(error_of("model:\n  type: nmf\n  rank: four\n"), "cfg.yaml:3: model.rank must be a positive integer, got four");
  EXPECT_EQ(error_of("model:\n  type: nmf\n  rnak: 3\n"), "cfg.yaml:3: model.rnak is not a known key (did you mean model.rank?)");
  EXPECT_EQ(error_of("model:\n  type: nmf\ntrainer:\n  kind: newton\n"), "cfg.yaml:4: trainer.kind must be one of mu, autograd, got newton");
  EXPECT_EQ(error_of("model:\n  type: nmf\ntrainer:\n  tol: -1\n"), "cfg.yaml:4: trainer.tol must be a number >= 0, got -1");
  EXPECT_EQ(error_of("model:\n  type: nmf\n  beta: banana\n"), "cfg.yaml:3: model.beta must be euclidean, kl, is or a number, got banana");
  EXPECT_EQ(error_of("model:\n  type: nmf\n  fixed_w: maybe\n"), "cfg.yaml:3: model.fixed_w must be true or false, got maybe");
  EXPECT_EQ(error_of("model:\n  type: nmf\nextra:\n  x: 1\n"), "cfg.yaml:3: unknown section 'extra' (sections: model, data, trainer, output)");
  EXPECT_EQ(error_of("data:\n  input: x.npy\n"), "cfg.yaml: missing required key model.type");
  EXPECT_NE(error_of("model:\n  type: tensor_train\n").find("model.type must be one of"), std::string::npos);
  EXPECT_EQ(error_of("model:\n  type: nmf\n  init: [1, 2]\n"), "cfg.yaml:3: model.init must be one of random, nndsvd, nndsvda or a map, got [1, 2]");
}

TEST(Config, MalformedYamlReportsTheLine) {
  EXPECT_EQ(error_of("model:\n  type: nmf\n  rank: 2\n  rank: 300\n"), "cfg.yaml:4: model.rank is given twice (first at cfg.yaml:3)");
  const std::string e = error_of("model:\n  type: nmf\n  rank: [4\n");
  EXPECT_EQ(e.rfind("cfg.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("malformed YAML"), std::string::npos) << e;
}

TEST(Config, OverridesApplyAndAreNamedInErrors) {
  const Config c = Config::parse(kValid, "cfg.yaml", {"model.rank=7", "trainer.kind=autograd", "trainer.lr=0.5"});
  EXPECT_EQ(c.integer("model.rank"), 7);
  EXPECT_EQ(c.string("trainer.kind"), "autograd");
  EXPECT_EQ(c.where("model.rank"), "--set model.rank=7");
  EXPECT_EQ(error_of(kValid, {"model.rank=0"}), "--set model.rank=0: model.rank must be a positive integer, got 0");
  EXPECT_EQ(error_of(kValid, {"rank"}), "--set rank: expected key.path=value");
}

TEST(Config, InitAcceptsAMapOfFiles) {
  const Config c = Config::parse("model:\n  type: nmf\n  init: {W: w0.npy, H: h0.npy}\n", "cfg.yaml");
  EXPECT_TRUE(c.node("model.init").IsMap());
  EXPECT_EQ(c.node("model.init")["W"].Scalar(), "w0.npy");
}

TEST(Config, EveryKeyIsDocumented) {
  const std::string doc = factorch::config_schema().document();
  for (const auto& k : factorch::config_schema().keys()) {
    EXPECT_FALSE(k.doc.empty()) << k.path;
    const std::string leaf = k.path.substr(k.path.find('.') + 1);
    EXPECT_NE(doc.find("  " + leaf + "  ("), std::string::npos) << k.path;
  }
}

// ------------------------------------------------------------------------------ data block

TEST(DataBlock, SchemaRefusesAKeyDeclaredTwice) {
  factorch::ConfigSchema s;
  s.add("data.transform.n_fft", factorch::KeyType::Integer, "frame size");
  s.add("model.rank", factorch::KeyType::Integer, "components").for_models({"nmf"});
  s.add("model.rank", factorch::KeyType::Integer, "components per source").for_models({"multichannel_nmf"});
  EXPECT_NO_THROW(s.check_unique());  // two models, two scopes
  s.add("data.transform.n_fft", factorch::KeyType::Integer, "a model's own frame size").for_models({"tlnmf"});
  EXPECT_THROW(s.check_unique(), factorch::Error);
  // The real schema (every model's keys) builds, so no model declares a data key of its own twice.
  EXPECT_NO_THROW(factorch::config_schema());
  EXPECT_EQ(factorch::config_schema().find("data.transform.n_fft")->models.size(), 0u);  // one key for every model
}

TEST(DataBlock, EveryModelTakesTheSameTransformKeys) {
  for (const char* type : {"nmf", "nmf_audio", "online_nmf", "multichannel_nmf", "lnmf", "dlnmf", "tlnmf", "innmf"}) {
    const Config c = Config::parse(std::string("model: {type: ") + type + "}\ndata:\n  transform: {n_fft: 256, hop: 64}\n",
                                   "cfg.yaml");
    EXPECT_EQ(c.integer("data.transform.n_fft"), 256) << type;
    EXPECT_EQ(c.string("data.transform.window"), "hann") << type;  // the same default everywhere
    EXPECT_EQ(c.integer("data.transform.win_length"), 0) << type;
  }
}

TEST(DataBlock, OldSpellingsPointToTheNewKeys) {
  EXPECT_EQ(error_of("model: {type: tlnmf}\ndata:\n  frame_length: 200\n"),
            "cfg.yaml:3: data.frame_length is not a known key");
  EXPECT_EQ(error_of("model: {type: nmf}\ndata:\n  n_fft: 512\n"),
            "cfg.yaml:3: data.n_fft is not a known key (did you mean data.transform.n_fft?)");
  EXPECT_EQ(error_of("model: {type: nmf}\ndata:\n  synthetic: harmonic_notes\n"),
            "cfg.yaml:3: data.synthetic is a block of keys (signal, seed, sample_rate, seconds, …), not a value; got "
            "harmonic_notes");
  EXPECT_EQ(error_of("model: {type: nmf}\ndata:\n  transform: {hop: -1}\n"),
            "cfg.yaml:3: data.transform.hop must be a nonnegative integer, got -1");
}
