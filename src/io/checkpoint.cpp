#include <c10/util/Exception.h>  // TORCH_CHECK: torch/ordered_dict.h uses it without including it
#include "factorch/io/checkpoint.h"

#include <cmath>

#include "factorch/error.h"
#include "factorch/io/torch_file.h"

namespace factorch::io {

namespace {
constexpr const char* kFormat = "factorch-checkpoint-1";

c10::impl::GenericDict tensor_dict(const NamedTensors& tensors) {
  auto d = make_dict();
  for (const auto& item : tensors) d.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
  return d;
}

NamedTensors from_dict(const c10::IValue& v, const std::string& path, const std::string& key) {
  require(v.isGenericDict(), path + ": checkpoint entry '" + key + "' is not a dict");
  NamedTensors out;
  for (const auto& e : v.toGenericDict()) out.insert(e.key().toStringRef(), e.value().toTensor());
  return out;
}
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  auto d = make_dict();
  d.insert("format", std::string(kFormat));
  d.insert("factorch_version", std::string(FACTORCH_VERSION));
  d.insert("model_type", c.model_type);
  d.insert("config", c.config_yaml);
  d.insert("parameters", tensor_dict(c.parameters));
  d.insert("factors", tensor_dict(c.factors));
  d.insert("iteration", c.train_state.iteration);
  d.insert("seconds", c.train_state.seconds);
  const auto& h = c.train_state.history;
  torch::Tensor hist = torch::empty({static_cast<int64_t>(h.size()), 4}, torch::kFloat64);
  auto a = hist.accessor<double, 2>();
  for (size_t i = 0; i < h.size(); ++i) {
    a[i][0] = static_cast<double>(h[i].iteration);
    a[i][1] = h[i].objective;
    a[i][2] = h[i].rel_change;
    a[i][3] = h[i].seconds;
  }
  d.insert("history", hist);
  const std::string& opt = c.train_state.optimizer_state;
  torch::Tensor bytes = torch::empty({static_cast<int64_t>(opt.size())}, torch::kUInt8);
  if (!opt.empty()) std::memcpy(bytes.data_ptr(), opt.data(), opt.size());
  d.insert("optimizer", bytes);
  save_pt(path, d);
}

Checkpoint load_checkpoint(const std::string& path) {
  const c10::IValue v = load_pt(path);
  require(v.isGenericDict(), path + ": not a factorch checkpoint (not a dict)");
  const auto d = v.toGenericDict();
  require(d.contains("format") && d.at("format").isString() && d.at("format").toStringRef() == kFormat,
          path + ": not a factorch checkpoint (no format '" + kFormat + "'; a factors.pt goes in model.init_from)");
  Checkpoint c;
  try {
    c.model_type = d.at("model_type").toStringRef();
    c.config_yaml = d.at("config").toStringRef();
    c.parameters = from_dict(d.at("parameters"), path, "parameters");
    c.factors = from_dict(d.at("factors"), path, "factors");
    c.train_state.iteration = d.at("iteration").toInt();
    c.train_state.seconds = d.at("seconds").toDouble();
    const torch::Tensor hist = d.at("history").toTensor().to(torch::kFloat64).contiguous();
    auto a = hist.accessor<double, 2>();
    for (int64_t i = 0; i < hist.size(0); ++i)
      c.train_state.history.push_back({static_cast<int64_t>(a[i][0]), a[i][1], a[i][2], a[i][3]});
    const torch::Tensor bytes = d.at("optimizer").toTensor().contiguous();
    c.train_state.optimizer_state.assign(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
  } catch (const c10::Error& e) {
    throw Error(path + ": corrupt factorch checkpoint (" + std::string(e.what_without_backtrace()).substr(0, 120) + ")");
  }
  return c;
}

}  // namespace factorch::io
