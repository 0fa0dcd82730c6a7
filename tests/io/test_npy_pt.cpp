// .npy and .pt round trips; Python reads what we write and we read what Python writes.
#include <gtest/gtest.h>

#include "../test_support.h"
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"

using namespace factorch;

TEST(Npy, RoundTripsDtypesAndShapes) {
  testkit::TempDir dir;
  const std::vector<torch::Tensor> cases = {
      torch::rand({3, 4}, torch::kFloat64), torch::rand({5}, torch::kFloat32), torch::arange(24, torch::kInt64).reshape({2, 3, 4}),
      torch::tensor({1, 0, 1}, torch::kUInt8), torch::rand({0, 3}, torch::kFloat64), torch::tensor(3.5, torch::kFloat64)};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string p = dir / ("t" + std::to_string(i) + ".npy");
    io::save_npy(p, cases[i]);
    const torch::Tensor back = io::load_npy(p);
    EXPECT_EQ(back.scalar_type(), cases[i].scalar_type());
    EXPECT_TRUE(torch::equal(back, cases[i])) << i;
  }
}

TEST(Npy, CorruptAndMissingFilesAreClearErrors) {
  testkit::TempDir dir;
  EXPECT_THROW(io::load_npy(dir / "missing.npy"), factorch::Error);
  testkit::write_text(dir / "text.npy", "hello world, not numpy");
  try {
    io::load_npy(dir / "text.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text.npy"), std::string::npos);
  }
  io::save_npy(dir / "ok.npy", torch::rand({10, 10}, torch::kFloat64));
  std::string bytes = testkit::read_text(dir / "ok.npy");
  testkit::write_text(dir / "truncated.npy", bytes.substr(0, bytes.size() - 8));
  EXPECT_THROW(io::load_npy(dir / "truncated.npy"), factorch::Error);
}

TEST(Npy, InteroperatesWithNumpy) {
  if (!testkit::python_has("numpy")) GTEST_SKIP() << "python3 with numpy not available";
  testkit::TempDir dir;
  const torch::Tensor t = torch::rand({4, 6}, torch::kFloat64);
  io::save_npy(dir / "ours.npy", t);
  testkit::write_text(dir / "check.py", R"(
import sys, numpy as np
d = sys.argv[1]
a = np.load(d + "/ours.npy"); assert a.flags["C_CONTIGUOUS"] and a.dtype == np.float64 and a.shape == (4, 6)
np.save(d + "/fortran.npy", np.asfortranarray(a * 2)); np.save(d + "/f32.npy", a.astype(np.float32))
)");
  ASSERT_EQ(testkit::run_python(dir / "check.py", dir.path().string()), 0);
  EXPECT_TRUE(torch::allclose(io::load_npy(dir / "fortran.npy"), t * 2));
  EXPECT_EQ(io::load_npy(dir / "f32.npy").scalar_type(), torch::kFloat32);
}

TEST(TorchFile, PythonTorchLoadReadsFactorsAndWeReadPythonSaves) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 with torch not available";
  testkit::TempDir dir;
  NamedTensors f;
  f.insert("W", torch::rand({5, 2}, torch::kFloat64));
  f.insert("H", torch::rand({2, 7}, torch::kFloat32));
  io::save_tensors_pt(dir / "factors.pt", f);
  testkit::write_text(dir / "check.py", R"(
import sys, torch
d = sys.argv[1]
f = torch.load(d + "/factors.pt")
assert set(f) == {"W", "H"} and f["W"].dtype == torch.float64 and tuple(f["H"].shape) == (2, 7)
torch.save({"W": f["W"] * 3, "note": "python"}, d + "/from_python.pt")
)");
  ASSERT_EQ(testkit::run_python(dir / "check.py", dir.path().string()), 0);
  const NamedTensors back = io::load_tensors_pt(dir / "from_python.pt");
  EXPECT_TRUE(torch::allclose(back["W"], f["W"] * 3));
  EXPECT_THROW(io::load_tensors_pt(dir / "missing.pt"), factorch::Error);
}
