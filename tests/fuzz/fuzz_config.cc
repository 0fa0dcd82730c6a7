// libFuzzer target: the YAML config loader (parsing, schema validation, defaults).
#include "app/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  return factorch::fuzz::accept_clean_errors([&] { (void)factorch::Config::parse(yaml, "fuzz.yaml").dump(); });
}
