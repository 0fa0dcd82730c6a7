// What a training run says about itself: a model that stops itself (early stopping) ends the
// run there, with its own reason and no padded history records; the shared progress printer
// prints the last record once.
#include <gtest/gtest.h>

#include <string>

#include "factorch/models/self_stopping.h"
#include "factorch/train/callbacks.h"
#include "factorch/train/trainer.h"

using namespace factorch;

namespace {

// Halves x each step and declares itself done after `stop_after` steps, as DL-NMF does when
// its validation score stops improving (its later steps change nothing).
class SelfStoppingModel : public FactorModelImpl, public SelfStopping {
 public:
  explicit SelfStoppingModel(int stop_after) : stop_after_(stop_after) {
    x_ = register_parameter("x", torch::ones({1}, torch::kFloat64));
  }
  std::string type() const override { return "self_stopping"; }
  torch::Tensor reconstruct() override { return x_; }
  torch::Tensor loss(const TrainingData&) override { return x_.sum(); }
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData&) override {
    if (steps_ >= stop_after_) return;
    torch::NoGradGuard g;
    x_.mul_(0.5);
    ++steps_;
  }
  std::string early_stop() const override {
    return steps_ >= stop_after_ ? "early stop after round " + std::to_string(steps_) + ": kept round 1" : "";
  }
  NamedTensors factors() override {
    NamedTensors n;
    n.insert("x", x_);
    return n;
  }
  void set_factor(const std::string&, const torch::Tensor&) override {}
  torch::Tensor x_;
  int stop_after_, steps_ = 0;
};

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Progress, ModelEarlyStopEndsTheRunWithItsReasonAndNoPaddedRecords) {
  auto m = std::make_shared<SelfStoppingModel>(3);
  MultiplicativeTrainer t(TrainerOptions().max_iter(8).tol(0).eval_every(1));
  const TrainResult r = t.fit(m, {torch::ones({1}, torch::kFloat64)});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.stop_reason, "early stop after round 3: kept round 1");  // not "max_iter"
  EXPECT_EQ(r.iterations, 3);
  const auto& h = t.state().history;
  ASSERT_EQ(h.size(), 4u);  // the start and one record per real step, none with rel_change 0
  for (size_t i = 1; i < h.size(); ++i) EXPECT_DOUBLE_EQ(h[i].rel_change, 0.5) << "record " << i;
  EXPECT_EQ(h.back().iteration, 3);
  // Between evaluations too (eval_every 5): the step that stops the model is recorded.
  auto m2 = std::make_shared<SelfStoppingModel>(3);
  MultiplicativeTrainer t2(TrainerOptions().max_iter(20).tol(0).eval_every(5));
  EXPECT_EQ(t2.fit(m2, {torch::ones({1}, torch::kFloat64)}).iterations, 3);
  EXPECT_EQ(t2.state().history.back().iteration, 3);
}

TEST(Progress, LastRecordIsPrintedOnce) {
  // Period 0: every evaluation prints, so the last one is already on screen at the end.
  for (const int stop_after : {3, 100}) {  // stopped by the model, or by max_iter
    auto m = std::make_shared<SelfStoppingModel>(stop_after);
    MultiplicativeTrainer t(TrainerOptions().max_iter(6).tol(0).eval_every(1));
    t.add_callback(std::make_shared<ProgressCallback>(/*tty=*/false, /*period_seconds=*/0.0));
    testing::internal::CaptureStderr();
    const TrainResult r = t.fit(m, {torch::ones({1}, torch::kFloat64)});
    const std::string err = testing::internal::GetCapturedStderr();
    const int last = static_cast<int>(r.iterations);
    EXPECT_EQ(count(err, "iter " + std::to_string(last) + "/"), 1) << err;
    EXPECT_EQ(count(err, "\niter "), last - 1) << err;  // iter 1 … last, one line each
    EXPECT_EQ(count(err, "stopped after " + std::to_string(last) + " iterations (" + r.stop_reason + ")"), 1) << err;
  }
  // A long period: only the first record was printed, so the end prints the last one.
  auto m = std::make_shared<SelfStoppingModel>(4);
  MultiplicativeTrainer t(TrainerOptions().max_iter(6).tol(0).eval_every(1));
  t.add_callback(std::make_shared<ProgressCallback>(/*tty=*/false, /*period_seconds=*/1e9));
  testing::internal::CaptureStderr();
  t.fit(m, {torch::ones({1}, torch::kFloat64)});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("iter 1/6 ", 0), 0u) << err;
  EXPECT_EQ(count(err, "iter 4/"), 1) << err;
  EXPECT_EQ(count(err, "iter "), 2) << err;
}
