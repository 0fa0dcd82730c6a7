// Python interop: what Python's torch.save writes (default zip format) loads wherever a .pt is
// accepted — io::load_pt, `factorch info`, model.init_from, model.init.W. Each file is
// compared bitwise with an .npy of the same array written by numpy in the same script.
// LibTorch 1.13's own unpickler rejected most of these (one-entry dict, Parameter,
// OrderedDict/state_dict, protocol 4: "Unknown opcode for unpickling").
#include <gtest/gtest.h>

#include <filesystem>

#include "../test_support.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

// Writes the .pt files and their .npy twins into dir with python3 + torch.
void write_python_files(const testkit::TempDir& dir) {
  testkit::write_text(dir / "make.py", R"(
import sys, collections, numpy as np, torch
d = sys.argv[1]
g = torch.Generator().manual_seed(0)
W = torch.rand(16, 3, generator=g, dtype=torch.float64) + 0.1
H = torch.rand(3, 25, generator=g, dtype=torch.float64) + 0.1
np.save(d + "/W.npy", W.numpy()); np.save(d + "/H.npy", H.numpy())
torch.save(W, d + "/tensor.pt")
torch.save({"W": W, "H": H}, d + "/dict.pt")
torch.save({"W": W}, d + "/one.pt")                                   # SETITEM
torch.save({"W": torch.nn.Parameter(W), "H": H}, d + "/param.pt")     # _rebuild_parameter
torch.save(collections.OrderedDict(W=W, H=H), d + "/ordered.pt")
torch.save({"W": W, "H": H}, d + "/proto4.pt", pickle_protocol=4)     # FRAME, MEMOIZE, ...
big = torch.rand(8, 40, generator=g, dtype=torch.float64)
torch.save({"W": big[1:, ::2].t(), "H": H.float()}, d + "/views.pt")  # strided views, float32
np.save(d + "/view.npy", np.ascontiguousarray(big[1:, ::2].t().numpy())); np.save(d + "/H32.npy", H.float().numpy())
sd = torch.nn.Linear(3, 2).state_dict()                               # OrderedDict + _metadata (BUILD)
torch.save(sd, d + "/state_dict.pt"); np.save(d + "/weight.npy", sd["weight"].numpy())
torch.save({"W": W, "n": 3, "name": "x", "f": 1.5, "l": [1, 2], "t": (1, "a"), "none": None, "big": 2**40},
           d + "/mixed.pt")
torch.save({"W": W}, d + "/legacy.pt", _use_new_zipfile_serialization=False)
)");
  ASSERT_EQ(testkit::run_python(dir / "make.py", dir.path().string()), 0);
}

}  // namespace

TEST(PythonPt, TorchSaveFilesLoadExactly) {
  if (!testkit::python_has("numpy torch")) GTEST_SKIP() << "python3 with numpy and torch not available";
  testkit::TempDir dir;
  write_python_files(dir);
  const torch::Tensor W = io::load_npy(dir / "W.npy"), H = io::load_npy(dir / "H.npy");
  EXPECT_TRUE(torch::equal(io::load_pt(dir / "tensor.pt").toTensor(), W));
  for (const char* f : {"dict.pt", "param.pt", "ordered.pt", "proto4.pt", "mixed.pt"}) {
    const NamedTensors t = io::load_tensors_pt(dir / f);
    EXPECT_TRUE(torch::equal(t["W"], W)) << f;
    if (std::string(f) != "mixed.pt") {
      EXPECT_TRUE(torch::equal(t["H"], H)) << f;
    }
  }
  EXPECT_TRUE(torch::equal(io::load_tensors_pt(dir / "one.pt")["W"], W));
  const NamedTensors views = io::load_tensors_pt(dir / "views.pt");
  EXPECT_TRUE(torch::equal(views["W"], io::load_npy(dir / "view.npy")));
  EXPECT_EQ(views["H"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(views["H"], io::load_npy(dir / "H32.npy")));
  EXPECT_TRUE(torch::equal(io::load_tensors_pt(dir / "state_dict.pt")["weight"], io::load_npy(dir / "weight.npy")));
  const auto mixed = io::load_pt(dir / "mixed.pt").toGenericDict();
  EXPECT_EQ(mixed.at("n").toInt(), 3);
  EXPECT_EQ(mixed.at("name").toStringRef(), "x");
  EXPECT_EQ(mixed.at("f").toDouble(), 1.5);
  EXPECT_EQ(mixed.at("big").toInt(), int64_t{1} << 40);
  EXPECT_TRUE(mixed.at("none").isNone());
  EXPECT_EQ(mixed.at("l").toList().size(), 2u);
  // The pre-1.6 format is refused with a way out, not misread.
  const std::string legacy = testkit::error_of([&] { io::load_pt(dir / "legacy.pt"); });
  EXPECT_NE(legacy.find("legacy torch.save format"), std::string::npos) << legacy;
}

TEST(PythonPt, InfoAndInitFromAcceptPythonFiles) {
  if (!testkit::python_has("numpy torch")) GTEST_SKIP() << "python3 with numpy and torch not available";
  testkit::TempDir dir;
  write_python_files(dir);
  // info describes a plain dict and a plain tensor.
  auto r = testkit::run_factorch("info dict.pt", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("dict of 2 entries"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(16, 3)"), std::string::npos) << r.out;
  r = testkit::run_factorch("info tensor.pt", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("tensor      (16, 3) Double"), std::string::npos) << r.out;

  // init_from: with 0 iterations the exported factors are the Python ones, bit for bit.
  torch::manual_seed(4);
  io::save_npy(dir / "x.npy", torch::rand({16, 25}, torch::kFloat64) + 0.1);
  testkit::write_text(dir / "cfg.yaml", "model: {type: nmf, rank: 3, init_from: dict.pt}\ndata: {input: x.npy}\n"
                                        "trainer: {max_iter: 0, progress: never}\noutput: {dir: run}\n");
  r = testkit::run_factorch("train cfg.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "run/factors/W.npy"), io::load_npy(dir / "W.npy")));
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "run/factors/H.npy"), io::load_npy(dir / "H.npy")));
  // A one-entry dict (the case LibTorch's unpickler refused) and a Parameter, with training.
  r = testkit::run_factorch("train cfg.yaml --set model.init_from=param.pt --set model.fixed_w=true "
                            "--set trainer.max_iter=5 --out run2",
                            dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "run2/factors/W.npy"), io::load_npy(dir / "W.npy")));
  // model.init.W takes a .pt holding one tensor.
  testkit::write_text(dir / "cfg3.yaml", "model: {type: nmf, rank: 3, init: {W: tensor.pt}}\ndata: {input: x.npy}\n"
                                         "trainer: {max_iter: 0, progress: never}\noutput: {dir: run3}\n");
  r = testkit::run_factorch("train cfg3.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::load_npy(dir / "run3/factors/W.npy"), io::load_npy(dir / "W.npy")));
}
