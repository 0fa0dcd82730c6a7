#include "factorch/io/torch_file.h"

#include <filesystem>

#include <torch/serialize.h>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_zip.h"

namespace factorch::io {

c10::impl::GenericDict make_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

void save_pt(const std::string& path, const c10::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

c10::IValue load_pt(const std::string& path) {
  // Our own reader, not torch::pickle_load: LibTorch 1.13's unpickler rejects files that
  // Python's torch.save writes (a one-entry dict, a Parameter, protocol 4), see torch_zip.h.
  return read_torch_zip(read_file(path), path);
}

void save_tensors_pt(const std::string& path, const NamedTensors& tensors) {
  auto dict = make_dict();
  for (const auto& item : tensors) dict.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
  save_pt(path, dict);
}

NamedTensors load_tensors_pt(const std::string& path) {
  const c10::IValue value = load_pt(path);
  require(value.isGenericDict(), path + ": expected a dict of tensors");
  c10::impl::GenericDict dict = value.toGenericDict();
  // A checkpoint keeps its factors under "factors".
  if (dict.contains("factors") && dict.at("factors").isGenericDict()) dict = dict.at("factors").toGenericDict();
  NamedTensors out;
  for (const auto& entry : dict) {
    if (entry.key().isString() && entry.value().isTensor()) out.insert(entry.key().toStringRef(), entry.value().toTensor());
  }
  require(!out.is_empty(), path + ": contains no named tensors");
  return out;
}

torch::Tensor load_tensor(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext != ".pt" && ext != ".pth") return load_npy(path);
  const c10::IValue v = load_pt(path);
  if (v.isTensor()) return v.toTensor();
  require(v.isGenericDict() && v.toGenericDict().size() == 1 && v.toGenericDict().begin()->value().isTensor(),
          path + ": expected a tensor (or a dict of one tensor)");
  return v.toGenericDict().begin()->value().toTensor();
}

}  // namespace factorch::io
