// The library's restore of saved parameters (resume, fine-tuning on another device/dtype) and
// its device/dtype names: what `factorch train --resume` and the Python package rely on.
#include <gtest/gtest.h>

#include <string>

#include <torch/cuda.h>

#include "factorch/error.h"
#include "factorch/models/nmf.h"
#include "factorch/train/device.h"
#include "factorch/train/restore.h"

using namespace factorch;

namespace {
NamedTensors raw_parameters(FactorModelImpl& m) {
  NamedTensors out;
  for (const auto& p : m.named_parameters(true)) out.insert(p.key(), p.value().detach().clone());
  for (const auto& b : m.named_buffers(true)) out.insert(b.key(), b.value().detach().clone());
  return out;
}
}  // namespace

TEST(Restore, ParametersComeBackExactlyInTheModelsDtype) {
  torch::manual_seed(3);
  const torch::Tensor V = torch::rand({6, 10}, torch::kFloat64) + 0.1;
  NMF a(NMFOptions(6, 10, 2));
  a->init(V, "random", 1);
  const NamedTensors saved = raw_parameters(*a);
  NMF b(NMFOptions(6, 10, 2));
  b->init(V, "random", 2);
  ASSERT_FALSE(torch::equal(a->W(), b->W()));
  restore_parameters(*b, saved, "a.pt");
  EXPECT_TRUE(torch::equal(a->W(), b->W()));
  EXPECT_TRUE(torch::equal(a->H(), b->H()));
  b->to(torch::kFloat32);  // fine-tuning in float32 from a float64 checkpoint
  restore_parameters(*b, saved, "a.pt");
  EXPECT_EQ(b->W().scalar_type(), torch::kFloat32);
  EXPECT_LT((b->W().to(torch::kFloat64) - a->W()).abs().max().item<double>(), 1e-7);
  // Another rank count of components: one line naming the file and the parameter.
  NMF c(NMFOptions(6, 10, 3));
  try {
    restore_parameters(*c, saved, "a.pt");
    FAIL() << "a 6x2 W went into a rank-3 model";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("a.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("6x2"), std::string::npos) << what;
  }
}

TEST(Restore, AShardTakesItsColumnsOfPerColumnTensorsOnly) {
  NMF m(NMFOptions(4, 3, 2));  // this rank holds columns [5, 8) of 10
  TrainingData data(torch::rand({4, 3}, torch::kFloat64));
  auto shard = std::make_shared<DataShard>();
  shard->begin = 5;
  shard->end = 8;
  shard->total = 10;
  shard->rank = 1;
  shard->world_size = 3;
  data.shard = shard;
  const torch::Tensor H = torch::arange(20, torch::kFloat64).reshape({2, 10});
  EXPECT_TRUE(torch::equal(column_part(*m, "H", H, data), H.slice(1, 5, 8)));
  const torch::Tensor W = torch::rand({4, 10}, torch::kFloat64);  // W is shared: never cut
  EXPECT_TRUE(torch::equal(column_part(*m, "W", W, data), W));
  EXPECT_TRUE(torch::equal(column_part(*m, "H", H, TrainingData(data.X)), H));  // one process: whole
}

TEST(DeviceNames, NamesAndErrorsThatNameTheKey) {
  EXPECT_TRUE(device_from_name("cpu").is_cpu());
  EXPECT_EQ(dtype_from_name("float32"), torch::kFloat32);
  EXPECT_EQ(dtype_from_name("float64"), torch::kFloat64);
  try {
    device_from_name("tpu", "trainer.device");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "trainer.device must be cpu, cuda or cuda:N, got 'tpu'");
  }
  try {
    dtype_from_name("float16", "dtype");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "dtype must be float32 or float64, got 'float16'");
  }
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(device_from_name("cuda"), Error);
  }
  EXPECT_THROW(device_from_name("cuda:999"), Error);
}
