#include "factorch/train/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

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
  for (const auto& e : v.toGenericDict()) {
    require(e.key().isString() && e.value().isTensor(), path + ": checkpoint entry '" + key + "' holds a non-tensor");
    out.insert(e.key().toStringRef(), e.value().toTensor());
  }
  return out;
}
c10::impl::GenericDict description_dict(const FactorDescriptions& descriptions) {
  auto d = make_dict();
  for (const auto& f : descriptions) {
    auto e = make_dict();
    e.insert("role", role_name(f.role));
    e.insert("meaning", f.meaning);
    e.insert("plot", plot_name(f.plot));
    e.insert("grid", f.grid);
    e.insert("axis", f.axis);
    e.insert("layer", static_cast<int64_t>(f.layer));
    d.insert(f.name, e);
  }
  return d;
}

FactorDescriptions descriptions_from(const c10::IValue& v, const std::string& path) {
  require(v.isGenericDict(), path + ": checkpoint entry 'descriptions' is not a dict");
  FactorDescriptions out;
  for (const auto& e : v.toGenericDict()) {
    require(e.key().isString() && e.value().isGenericDict(), path + ": checkpoint entry 'descriptions' holds a non-dict");
    const auto f = e.value().toGenericDict();
    FactorDescription d(e.key().toStringRef(), FactorRole::Other, f.at("meaning").toStringRef());
    try {
      d.role = parse_role(f.at("role").toStringRef());
      d.plot = parse_plot(f.at("plot").toStringRef());
    } catch (const Error& bad) {
      throw Error(path + ": corrupt factorch checkpoint (" + bad.what() + ")");
    }
    d.grid = f.at("grid").toStringRef();
    d.axis = f.at("axis").toStringRef();
    d.layer = static_cast<int>(f.at("layer").toInt());
    out.push_back(std::move(d));
  }
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
  if (!c.descriptions.empty()) d.insert("descriptions", description_dict(c.descriptions));
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
    if (d.contains("descriptions")) c.descriptions = descriptions_from(d.at("descriptions"), path);
    c.train_state.iteration = d.at("iteration").toInt();
    c.train_state.seconds = d.at("seconds").toDouble();
    const torch::Tensor hist = d.at("history").toTensor().to(torch::kFloat64).contiguous();
    require(hist.dim() == 2 && hist.size(1) == 4, path + ": corrupt factorch checkpoint (history is not n×4)");
    auto a = hist.accessor<double, 2>();
    for (int64_t i = 0; i < hist.size(0); ++i) {
      // An out-of-range double → int64 conversion is undefined: check first.
      require(std::abs(a[i][0]) < 9e18, path + ": corrupt factorch checkpoint (history iteration " +
                                            std::to_string(a[i][0]) + ")");
      c.train_state.history.push_back({static_cast<int64_t>(a[i][0]), a[i][1], a[i][2], a[i][3]});
    }
    const torch::Tensor bytes = d.at("optimizer").toTensor().contiguous();
    require(bytes.scalar_type() == torch::kUInt8 && bytes.dim() == 1,
            path + ": corrupt factorch checkpoint (optimizer state is not a byte vector)");
    c.train_state.optimizer_state.assign(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    throw Error(path + ": corrupt factorch checkpoint (" + why.substr(0, std::min(why.find('\n'), size_t{120})) + ")");
  } catch (const std::out_of_range&) {  // a missing key (c10::Dict::at)
    throw Error(path + ": corrupt factorch checkpoint (an entry is missing)");
  }
  return c;
}

}  // namespace factorch::io
