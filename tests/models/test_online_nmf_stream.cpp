// online_nmf's held-back objective streamed batch by batch (flat memory), its cap, and
// steps of several batches (what a data-parallel run of R ranks equals on one process).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <torch/torch.h>

#include "../test_support.h"
#include "app/config.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/multiplicative.h"
#include "factorch/models/online_nmf.h"

namespace factorch {
namespace {

// 30 × 600, low rank plus noise: 12 batches of 50, the held-back ones every 4th (3, 7, 11).
torch::Tensor test_matrix() {
  torch::manual_seed(5);
  return torch::mm(torch::rand({30, 4}, torch::kFloat64), torch::rand({4, 600}, torch::kFloat64)) +
         0.05 * torch::rand({30, 600}, torch::kFloat64);
}

OnlineNMFOptions test_options(int64_t train_columns, int64_t cap) {
  OnlineNMFOptions o(30, 4);
  o.beta(1).batch_size(50).holdout_every(4).holdout_max_columns(cap).train_columns(train_columns).inner_iter(10);
  return o;
}

TEST(OnlineNMFStream, StreamedHeldBackObjectiveEqualsTheInMemoryOne) {
  testkit::TempDir dir;
  const torch::Tensor V = test_matrix();
  io::save_npy(dir / "v.npy", V);
  for (const bool from_file : {false, true}) {
    auto stream = from_file ? npy_column_stream(dir / "v.npy") : tensor_column_stream(V);
    int64_t train = 0;
    TrainingData held;
    held.X = held_back_columns(*stream, 50, 4, &train);
    ASSERT_EQ(held.X.size(1), 150);
    ASSERT_EQ(train, 450);
    OnlineNMFImpl model(test_options(train, 0), stream);
    // The summary of one pass gives the same mean the in-memory set has.
    const StreamSummary summary = scan_stream(*stream, model.options);
    EXPECT_EQ(summary.held_columns, 150);
    EXPECT_EQ(summary.train_columns, 450);
    const double mean = summary.held_sum / (summary.held_columns * 30.0);
    EXPECT_NEAR(mean, held.X.mean().item<double>(), 1e-14 * mean);
    model.init(mean, 3);
    TrainingData streamed;
    streamed.X = torch::zeros({30, 0}, torch::kFloat64);
    for (int pass = 0; pass < 3; ++pass) {
      model.mu_step(streamed);
      const double in_memory = model.loss(held).item<double>();
      const torch::Tensor in_memory_H = model.reconstruct();
      const double from_stream = model.loss(streamed).item<double>();
      // Only the order of the sums differs: measured 0 to 1.5e-16 relative.
      EXPECT_LT(std::abs(from_stream - in_memory) / in_memory, 1e-12) << from_file << " pass " << pass;
      EXPECT_LT((model.reconstruct() - in_memory_H).abs().max().item<double>(), 1e-12 * in_memory_H.abs().max().item<double>());
    }
    // Streamed: never more than one batch of V in memory, for training or for the objective.
    EXPECT_EQ(stream->peak_columns(), 50);
  }
}

TEST(OnlineNMFStream, TheHeldBackSetStopsAtItsCap) {
  const torch::Tensor V = test_matrix();
  auto stream = tensor_column_stream(V);
  int64_t train = 0;
  // Cap 60: batch 3 (50 columns) is held back, batch 7 too (50 < 60: it overshoots to 100),
  // batch 11 trains.
  const torch::Tensor held = held_back_columns(*stream, 50, 4, &train, 60);
  ASSERT_EQ(held.size(1), 100);
  EXPECT_EQ(train, 500);
  EXPECT_TRUE(torch::equal(held, torch::cat({V.slice(1, 150, 200), V.slice(1, 350, 400)}, 1)));
  OnlineNMFImpl model(test_options(train, 60), stream);
  const StreamSummary summary = scan_stream(*stream, model.options);
  EXPECT_EQ(summary.held_columns, 100);
  EXPECT_EQ(summary.train_columns, 500);
  model.init(held.mean().item<double>(), 3);
  TrainingData in_memory, streamed;
  in_memory.X = held;
  streamed.X = torch::zeros({30, 0}, torch::kFloat64);
  model.mu_step(streamed);
  const double expected = model.loss(in_memory).item<double>();
  EXPECT_LT(std::abs(model.loss(streamed).item<double>() - expected) / expected, 1e-12);
  EXPECT_EQ(model.reconstruct().size(1), 100);
  // A cap of one column still holds back one whole batch; a negative cap is refused.
  EXPECT_EQ(held_back_columns(*stream, 50, 4, nullptr, 1).size(1), 50);
  EXPECT_THROW(held_back_columns(*stream, 50, 4, nullptr, -1), Error);
}

TEST(OnlineNMFStream, OneBatchPerStepIsThePlainOnlineUpdateAndStepsSumTheirBatches) {
  // Two batches per step = the W update of their statistics summed, taken after both were
  // fitted with the same W: computed here by hand from one-batch-per-step building blocks.
  const torch::Tensor V = test_matrix().slice(1, 0, 200);  // 4 batches: 0, 1, 2 train, 3 held back
  auto stream = tensor_column_stream(V);
  OnlineNMFOptions o = test_options(150, 0);
  o.batches_per_step(2);
  OnlineNMFImpl two(o, stream);
  two.init(0.5, 1);
  const torch::Tensor W0 = two.W().clone();
  TrainingData none;
  none.X = torch::zeros({30, 0}, torch::kFloat64);
  two.mu_step(none);
  // By hand: batches 0 and 1 with W0, then batch 2 alone (the last, shorter step).
  const BetaDivergence kl(1.0);
  OnlineNMFImpl helper(test_options(150, 0), tensor_column_stream(V));
  helper.set_factor("W", W0);
  torch::Tensor A = torch::zeros_like(W0), B = torch::zeros_like(W0), W = W0.clone();
  auto step = [&](std::initializer_list<int64_t> batches) {
    torch::Tensor numer = torch::zeros_like(W), denom = torch::zeros_like(W);
    int64_t columns = 0;
    for (int64_t b : batches) {
      const torch::Tensor X = V.slice(1, 50 * b, 50 * b + 50);
      const torch::Tensor H = helper.fit_activations(X);
      auto [n, d] = multiplicative_parts(W, MultilinearTerm{{}, H, {}}, X, kl);
      numer += n;
      denom += d;
      columns += X.size(1);
    }
    const double rho = std::pow(o.forget(), columns / 150.0);
    A = rho * A + numer * W;
    B = rho * B + denom;
    W = A / B;
    helper.set_factor("W", W);
  };
  step({0, 1});
  step({2});
  EXPECT_LT((two.W() - W).norm().item<double>() / W.norm().item<double>(), 1e-13);
}

TEST(OnlineNMFStream, BadDataAndKeysAreOneLineErrors) {
  testkit::TempDir dir;
  torch::Tensor V = test_matrix();
  V[2][420] = -1.0;  // in batch 8, a training batch read only by the scan (never by loss())
  io::save_npy(dir / "v.npy", V);
  const std::string base = "output: {dir: " + (dir / "out") + "}\ntrainer: {max_iter: 1, progress: never}\n"
                           "data: {input: " + (dir / "v.npy") + ", batch_size: 50, holdout_every: 4";
  const std::string model = "}\nmodel: {type: online_nmf, rank: 2";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {model + "}", "batch 8"},
      {", holdout_max_columns: -1" + model + "}", "data.holdout_max_columns"},
      {model + ", batches_per_step: 0}", "model.batches_per_step"}};
  for (const auto& [data, what] : cases) {
    try {
      app::run_training(Config::parse(base + data + "\n", "o.yaml"), {});
      FAIL() << data;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

}  // namespace
}  // namespace factorch
