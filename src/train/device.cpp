#include "factorch/train/device.h"

#include <optional>

#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include "factorch/error.h"

namespace factorch {

c10::Device device_from_name(const std::string& name, const std::string& key) {
  const std::string expected = key + " must be cpu, cuda or cuda:N, got '" + name + "'";
  std::optional<c10::Device> device;
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error(expected);
  }
  require(device->is_cpu() || device->is_cuda(), expected);
  if (device->is_cuda()) {
    require(torch::cuda::is_available(), key + " is '" + name + "' but no CUDA GPU is available to LibTorch");
    require(!device->has_index() || device->index() < static_cast<int>(torch::cuda::device_count()),
            key + " is '" + name + "' but only " + std::to_string(torch::cuda::device_count()) + " GPU(s) exist");
  }
  return *device;
}

c10::ScalarType dtype_from_name(const std::string& name, const std::string& key) {
  if (name == "float64") return c10::kDouble;
  if (name == "float32") return c10::kFloat;
  throw Error(key + " must be float32 or float64, got '" + name + "'");
}

}  // namespace factorch
