#include "factorch/io/torch_file.h"

#include <torch/serialize.h>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::io {

c10::impl::GenericDict make_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

void save_pt(const std::string& path, const c10::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

c10::IValue load_pt(const std::string& path) {
  const std::string bytes = read_file(path);
  try {
    return torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    throw Error(path + ": not a readable .pt file (" + why + ")");
  }
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

}  // namespace factorch::io
