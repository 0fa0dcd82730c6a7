// libFuzzer target: .pt files (zip + pickle reader) and factorch checkpoints.
#include <torch/types.h>

#include "factorch/train/checkpoint.h"
#include "factorch/io/torch_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = factorch::fuzz::scratch_file(data, size, ".pt");
  factorch::fuzz::accept_clean_errors([&] {
    for (const auto& f : factorch::io::load_tensors_pt(path)) (void)f.value().sum();
  });
  return factorch::fuzz::accept_clean_errors([&] { (void)factorch::io::load_checkpoint(path); });
}
