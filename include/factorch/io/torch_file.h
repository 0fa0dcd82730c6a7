#pragma once
// .pt files in the format of Python's torch.save / torch.load (a pickled dict in a zip),
// written with torch::pickle_save so `torch.load("factors.pt")` works in Python.
#include <string>

#include <ATen/core/ivalue.h>

#include "factorch/named_tensors.h"

namespace factorch::io {

/// An empty dict of string → any value, ready for pickling.
c10::impl::GenericDict make_dict();

/// Pickles `value` to `path` atomically.
void save_pt(const std::string& path, const c10::IValue& value);

/// Loads a .pt file written by save_pt or by Python's torch.save (tensors mapped to CPU).
c10::IValue load_pt(const std::string& path);

/// Writes named tensors as a dict name → tensor.
void save_tensors_pt(const std::string& path, const NamedTensors& tensors);

/// Reads a dict of tensors (e.g. factors.pt, or the "factors" entry of a checkpoint).
NamedTensors load_tensors_pt(const std::string& path);

/// One tensor from a .pt (a tensor, or a dict holding exactly one) or from an .npy file
/// (any other extension): for keys that take one matrix, e.g. model.init.W.
torch::Tensor load_tensor(const std::string& path);

}  // namespace factorch::io
