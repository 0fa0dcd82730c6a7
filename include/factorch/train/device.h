#pragma once
// Device and dtype names (TrainerOptions::device / dtype, the YAML trainer keys, the Python
// package's strings) to LibTorch values, checked against what this LibTorch can run.
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace factorch {

/// "cpu", "cuda" or "cuda:N" → a device; an unknown name, a CUDA device when LibTorch has no
/// GPU, or an index past the last GPU → factorch::Error naming `key` and the value.
c10::Device device_from_name(const std::string& name, const std::string& key = "device");

/// "float32" or "float64" → the dtype; another name → factorch::Error naming `key` and the value.
c10::ScalarType dtype_from_name(const std::string& name, const std::string& key = "dtype");

}  // namespace factorch
