#include "app/experiments/registry.h"

#include "factorch/error.h"

namespace factorch {

// The one place a model type is registered: its entry function (defined in its own
// src/app/experiments/<model>_entry.cpp) declared and listed here. Everything else asks the
// entry (keys, builder, capabilities) or the model (describe_factors()).
ModelEntry nmf_entry();
ModelEntry innmf_entry();
ModelEntry tlnmf_entry();
ModelEntry lnmf_entry();
ModelEntry dlnmf_entry();
ModelEntry nmf_audio_entry();
ModelEntry online_nmf_entry();
ModelEntry multichannel_nmf_entry();

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> entries = {nmf_entry(),       innmf_entry(),      tlnmf_entry(),
                                                  lnmf_entry(),      dlnmf_entry(),      nmf_audio_entry(),
                                                  online_nmf_entry(), multichannel_nmf_entry()};
  return entries;
}

const ModelEntry& model_entry(const std::string& name) {
  std::string known;
  for (const auto& e : model_registry()) {
    if (e.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw Error("unknown model type '" + name + "' (known: " + known + ")");
}

std::shared_ptr<FactorModelImpl> build_model(const ModelEntry& entry, const Config& config, const app::Dataset& data) {
  try {
    return entry.build(config, data);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.rfind(config.source(), 0) == 0 || message.rfind("--set ", 0) == 0) throw;
    throw Error(config.source() + ": model: " + message);
  }
}

std::shared_ptr<FactorModelImpl> build_model(const ModelEntry& entry, const Config& config, const TrainingData& matrix) {
  app::Dataset d;
  d.matrix = matrix;
  return build_model(entry, config, d);
}

}  // namespace factorch
