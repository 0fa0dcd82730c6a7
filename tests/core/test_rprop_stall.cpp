// Robust autograd training: projected Rprop (a step clipped by project() restarts from the
// initial size instead of growing against the bound) and the stall warning.
#include <gtest/gtest.h>

#include <cmath>

#include "factorch/train/callbacks.h"
#include "factorch/train/trainer.h"
#include "factorch/models/factor_model.h"

using namespace factorch;

namespace {
// loss = s·Σx with x ≥ 0 kept by project(): s = +1 (pushes x onto the bound) for the first
// `down` steps, then −1 (x should leave the bound).
class BoundModel : public FactorModelImpl {
 public:
  explicit BoundModel(int down) : down_(down) { x = register_parameter("x", torch::full({3}, 0.05, torch::kFloat64)); }
  std::string type() const override { return "bound"; }
  torch::Tensor reconstruct() override { return x; }
  torch::Tensor loss(const TrainingData&) override { return steps < down_ ? x.sum() : -x.sum(); }
  void project() override {
    torch::NoGradGuard g;
    x.clamp_min_(0.0);
    ++steps;
  }
  NamedTensors factors() override { NamedTensors n; n.insert("x", x); return n; }
  void set_factor(const std::string&, const torch::Tensor&) override {}
  torch::Tensor x;
  int steps = 0;

 private:
  int down_;
};
}  // namespace

TEST(Rprop, StepClippedByTheProjectionRestarts) {
  // 60 steps against the bound, then 2 steps away from it. Plain Rprop grows the step
  // ×1.2 per step to its cap (50) while held at 0, halves it at the turn and leaps 25; the
  // projected variant restarts from lr: x = lr·(1 + 1.2) after the two steps.
  const double lr = 1e-2;
  auto m = std::make_shared<BoundModel>(60);
  auto t = make_trainer(TrainerOptions().kind("autograd").optimizer("rprop").lr(lr).max_iter(62).eval_every(1000).tol(0));
  t->fit(m, TrainingData{torch::zeros({1}, torch::kFloat64)});
  const torch::Tensor x = m->x.detach();
  EXPECT_LT((x - 2.2 * lr).abs().max().item<double>(), 1e-12) << x;
}

namespace {
std::string stall_output(const std::vector<double>& objectives, int64_t every) {
  StallCallback cb;
  TrainState s;
  testing::internal::CaptureStderr();
  for (size_t i = 0; i < objectives.size(); ++i) {
    const double prev = i ? objectives[i - 1] : NAN;
    s.history.push_back({static_cast<int64_t>(i) * every, objectives[i], i ? std::abs(prev - objectives[i]) / prev : NAN, 0.0});
    s.iteration = static_cast<int64_t>(i) * every;
    cb.on_evaluation(s, 1000);
  }
  return testing::internal::GetCapturedStderr();
}
}  // namespace

TEST(StallCallback, WarnsOnceWhenTheObjectiveStopsMoving) {
  // Improves, then the same value at every evaluation from iteration 150 (as the reported
  // float32 Rprop run): one warning naming the iterations and both objectives.
  std::vector<double> j = {8000, 4000, 3000, 2900, 2800, 2750, 2739.5};
  for (int i = 0; i < 10; ++i) j.push_back(2739.5);
  const std::string out = stall_output(j, 25);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("training has stalled"), std::string::npos) << out;
  EXPECT_NE(out.find("from iteration 150 to 225"), std::string::npos) << out;
  EXPECT_NE(out.find("2739.5 (start 8000)"), std::string::npos) << out;
  // Slow but steady progress, or a short plateau (under 20 iterations): no warning.
  std::vector<double> slow;
  for (int i = 0; i < 30; ++i) slow.push_back(1000 * std::pow(0.9999, i));
  EXPECT_EQ(stall_output(slow, 10), "");
  EXPECT_EQ(stall_output({100, 90, 90, 90, 90, 80}, 5), "");
}
