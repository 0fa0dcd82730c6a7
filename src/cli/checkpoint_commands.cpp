// `factorch export` and `factorch info`: read a checkpoint, no model code needed.
#include <cstdio>

#include "cli_support.h"
#include "app/run.h"
#include "factorch/train/checkpoint.h"
#include "factorch/io/torch_file.h"

namespace factorch::cli {

namespace {
std::string shape_string(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}
bool is_checkpoint(const c10::IValue& v) {
  return v.isGenericDict() && v.toGenericDict().contains("format");
}

// Any other .pt (e.g. from Python's torch.save): its tensors, as model.init_from sees them.
void describe_plain_pt(const std::string& path, const c10::IValue& v) {
  std::printf("file        %s (not a factorch checkpoint)\n", path.c_str());
  if (v.isTensor()) {
    std::printf("tensor      %s %s\n", shape_string(v.toTensor()).c_str(), c10::toString(v.toTensor().scalar_type()));
    return;
  }
  require(v.isGenericDict(), path + ": holds a " + v.tagKind() + ", not a tensor or a dict of tensors");
  std::printf("dict of %zu entries\n", v.toGenericDict().size());
  for (const auto& e : v.toGenericDict()) {
    const std::string key = e.key().isString() ? e.key().toStringRef() : "?";
    if (e.value().isTensor())
      std::printf("  %-10s %-16s %s\n", key.c_str(), shape_string(e.value().toTensor()).c_str(),
                  c10::toString(e.value().toTensor().scalar_type()));
    else
      std::printf("  %-10s (%s)\n", key.c_str(), e.value().tagKind().c_str());
  }
}
}  // namespace

int export_(const Args& args) {
  return guarded([&] {
    std::string checkpoint, out, format = "npy";
    ArgScanner a(args, "export");
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::puts("usage: factorch export CHECKPOINT --format npy|pt --out DIR\n"
                  "Writes DIR/factors/<name>.npy (C order, trained dtype) or DIR/factors.pt (a dict name -> tensor).");
        return 0;
      } else if (arg == "--format") {
        format = a.value();
      } else if (arg == "--out") {
        out = a.value();
      } else if (arg.rfind("-", 0) == 0) {
        a.unknown();
      } else if (checkpoint.empty()) {
        checkpoint = arg;
      } else {
        throw UsageError("export", "more than one checkpoint given ('" + checkpoint + "', '" + arg + "')");
      }
    }
    if (checkpoint.empty()) throw UsageError("export", "needs a CHECKPOINT");
    if (out.empty()) throw UsageError("export", "needs --out DIR");
    if (format != "npy" && format != "pt") throw UsageError("export", "--format must be npy or pt, got '" + format + "'");
    const io::Checkpoint ck = io::load_checkpoint(checkpoint);
    app::export_factors(ck.factors, out, {format});
    std::printf("exported %zu factors of %s to %s\n", ck.factors.size(), checkpoint.c_str(), out.c_str());
    return 0;
  });
}

int info(const Args& args) {
  return guarded([&] {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::puts("usage: factorch info FILE.pt\nDescribes a checkpoint (model, iterations, objective, factors, config) or any other\n"
                  ".pt file of tensors, e.g. one saved by Python's torch.save.");
      return 0;
    }
    if (args.empty()) throw UsageError("info", "needs a CHECKPOINT");
    if (args.size() > 1) throw UsageError("info", "takes one CHECKPOINT, got " + std::to_string(args.size()) + " arguments");
    if (args[0].rfind("-", 0) == 0) throw UsageError("info", "unknown option '" + args[0] + "'");
    const c10::IValue content = io::load_pt(args[0]);
    if (!is_checkpoint(content)) {
      describe_plain_pt(args[0], content);
      return 0;
    }
    const io::Checkpoint ck = io::load_checkpoint(args[0]);
    std::printf("checkpoint  %s\nmodel       %s\niterations  %lld\ntime        %.3f s\n", args[0].c_str(),
                ck.model_type.c_str(), static_cast<long long>(ck.train_state.iteration), ck.train_state.seconds);
    if (!ck.train_state.history.empty()) {
      std::printf("objective   %.10g (start %.10g)\n", ck.train_state.history.back().objective,
                  ck.train_state.history.front().objective);
    }
    std::printf("optimizer   %s\nfactors\n", ck.train_state.optimizer_state.empty() ? "none (MU)" : "saved");
    for (const auto& f : ck.factors)
      std::printf("  %-10s %-16s %s\n", f.key().c_str(), shape_string(f.value()).c_str(),
                  c10::toString(f.value().scalar_type()));
    std::printf("config\n%s", ck.config_yaml.c_str());
    return 0;
  });
}

}  // namespace factorch::cli
