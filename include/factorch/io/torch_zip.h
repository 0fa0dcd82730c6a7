#pragma once
// A reader of the .pt format of Python's torch.save (the zip format, default since PyTorch
// 1.6) and of torch::pickle_save, independent of the LibTorch version: LibTorch 1.13's
// unpickler rejects what Python writes for a one-entry dict (SETITEM), a Parameter, an
// OrderedDict with metadata or pickle protocol 4, and its behaviour on corrupt files is not
// ours to bound. This one checks every size, offset and CRC, and knows only data: dicts,
// lists, tuples, None, bools, ints, floats, strings, bytes and CPU tensors.
#include <string>

#include <ATen/core/ivalue.h>

namespace factorch::io {

/// The object pickled in `bytes` (the contents of a .pt file); `name` names it in errors.
/// Dicts come back as GenericDict (string keys; int keys are turned into their decimal text),
/// lists as GenericList, tuples as Tuple, tensors as CPU tensors of the saved dtype and
/// strides. Throws factorch::Error on anything corrupt or unsupported (e.g. a pickled class
/// other than a tensor, a Parameter or an OrderedDict).
c10::IValue read_torch_zip(const std::string& bytes, const std::string& name);

}  // namespace factorch::io
