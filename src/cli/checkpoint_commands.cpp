// `factorch export` and `factorch info`: read a checkpoint, no model code needed.
#include <cstdio>

#include "cli_support.h"
#include "app/run.h"
#include "factorch/train/checkpoint.h"

namespace factorch::cli {

namespace {
std::string shape_string(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
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
      } else {
        checkpoint = arg;
      }
    }
    if (checkpoint.empty() || out.empty()) throw Error("export: usage: factorch export CHECKPOINT --format npy|pt --out DIR");
    require(format == "npy" || format == "pt", "export: --format must be npy or pt, got '" + format + "'");
    const io::Checkpoint ck = io::load_checkpoint(checkpoint);
    app::export_factors(ck.factors, out, {format});
    std::printf("exported %zu factors of %s to %s\n", ck.factors.size(), checkpoint.c_str(), out.c_str());
    return 0;
  });
}

int info(const Args& args) {
  return guarded([&] {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
      std::puts("usage: factorch info CHECKPOINT\nDescribes a checkpoint: model, iterations, objective, factors, config.");
      return args.empty() ? 1 : 0;
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
