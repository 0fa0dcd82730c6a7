// libFuzzer target: the WAV reader (libsndfile behind io::read_wav).
#include "factorch/io/wav.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return factorch::fuzz::accept_clean_errors(
      [&] { (void)factorch::io::read_wav(factorch::fuzz::scratch_file(data, size, ".wav")).samples.sum(); });
}
