// libFuzzer target: the .npy reader (whole file) and the lazy column reader.
#include "factorch/io/npy.h"
#include "factorch/io/npy_columns.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  factorch::fuzz::accept_clean_errors([&] { (void)factorch::io::npy_from_bytes(bytes, "fuzz.npy").sum(); });
  return factorch::fuzz::accept_clean_errors([&] {
    factorch::io::NpyColumnReader reader(factorch::fuzz::scratch_file(data, size, ".npy"));
    for (int64_t start = 0; start < reader.cols(); start += 7) (void)reader.read(start, 7).sum();
  });
}
