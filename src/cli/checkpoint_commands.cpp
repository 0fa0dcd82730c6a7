// `factorch export` and `factorch info`: read a checkpoint, no model code needed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli_support.h"
#include "app/run.h"
#include "factorch/train/checkpoint.h"
#include "factorch/io/torch_file.h"
#include "app/config.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"

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

std::string args_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* kExportUsage =
    "usage: factorch export CHECKPOINT --out DIR [--format npy|pt|both] [--only NAME,...]\n"
    "                       [--frequencies F1,F2,... | --n-fft N [--sample-rate R] | --cqt [--cqt-f-min F]\n"
    "                        [--cqt-bins-per-octave B] [--cqt-f-max F]]\n"
    "Writes the run's factors (listed by `factorch info`) as DIR/factors/<name>.npy (C order, trained dtype)\n"
    "and/or DIR/factors.pt (a dict name -> tensor): the layout of a run directory, so that DIR/factors.pt\n"
    "can start another run (model.init_from). --only keeps the named ones.\n"
    "Models whose dictionary is a function of frequency (innmf) can sample it on any grid: W (F x K) and\n"
    "frequencies (F, Hz) are then those of the grid, written in both formats unless --format says otherwise:\n"
    "  --frequencies F1,F2,...  these frequencies in Hz\n"
    "  --n-fft N                the N/2+1 bins k*R/N of a DFT of size N (R: --sample-rate, default the model's)\n"
    "  --cqt                    constant-Q centres f_min*2^(b/B) up to f_max (defaults: the run's data.cqt_* keys,\n"
    "                           f_max the Nyquist frequency)";

std::vector<double> parse_numbers(const std::string& option, const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v))
      throw Error("export: " + option + " must be a comma-separated list of numbers, got '" + item + "' in '" + text + "'");
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

double parse_number(const std::string& option, const std::string& text) {
  const std::vector<double> v = parse_numbers(option, text);
  if (v.size() != 1) throw Error("export: " + option + " takes one number, got '" + text + "'");
  return v[0];
}

}  // namespace

int export_(const Args& args) {
  return guarded([&] {
    std::string checkpoint, out, format;
    std::vector<std::string> only;
    std::string grid;  // "", "frequencies", "n-fft", "cqt"
    std::vector<double> frequencies;
    double n_fft = 0, sample_rate = 0, cqt_f_min = 0, cqt_bins = 0, cqt_f_max = 0;
    ArgScanner a(args, "export");
    auto set_grid = [&](const std::string& g) {
      if (!grid.empty() && grid != g) throw Error("export: choose one grid: --" + grid + " or --" + g + ", not both");
      grid = g;
    };
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::puts(kExportUsage);
        return 0;
      } else if (arg == "--format") {
        format = a.value();
      } else if (arg == "--out") {
        out = a.value();
      } else if (arg == "--only") {
        const std::string list = a.value();
        for (size_t start = 0; start <= list.size();) {
          const size_t comma = std::min(list.find(',', start), list.size());
          if (comma > start) only.push_back(list.substr(start, comma - start));
          start = comma + 1;
        }
        if (only.empty()) throw Error("export: --only needs at least one factor name, got '" + list + "'");
      } else if (arg == "--frequencies") {
        set_grid("frequencies");
        frequencies = parse_numbers(arg, a.value());
      } else if (arg == "--n-fft") {
        set_grid("n-fft");
        n_fft = parse_number(arg, a.value());
        if (n_fft < 2 || n_fft != std::floor(n_fft)) throw Error("export: --n-fft must be an integer >= 2, got " + args_value(n_fft));
      } else if (arg == "--sample-rate") {
        sample_rate = parse_number(arg, a.value());
        if (sample_rate <= 0) throw Error("export: --sample-rate must be > 0 Hz, got " + args_value(sample_rate));
      } else if (arg == "--cqt") {
        set_grid("cqt");
      } else if (arg == "--cqt-f-min") {
        cqt_f_min = parse_number(arg, a.value());
        if (cqt_f_min <= 0) throw Error("export: --cqt-f-min must be > 0 Hz, got " + args_value(cqt_f_min));
      } else if (arg == "--cqt-bins-per-octave") {
        cqt_bins = parse_number(arg, a.value());
        if (cqt_bins < 1 || cqt_bins != std::floor(cqt_bins))
          throw Error("export: --cqt-bins-per-octave must be an integer >= 1, got " + args_value(cqt_bins));
      } else if (arg == "--cqt-f-max") {
        cqt_f_max = parse_number(arg, a.value());
        if (cqt_f_max <= 0) throw Error("export: --cqt-f-max must be > 0 Hz, got " + args_value(cqt_f_max));
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
    if (format.empty()) format = grid.empty() ? "npy" : "both";
    if (format != "npy" && format != "pt" && format != "both")
      throw UsageError("export", "--format must be npy, pt or both, got '" + format + "'");
    // Grid options that do not fit together are bad input (exit 2), like a bad grid value.
    if (sample_rate > 0 && grid != "n-fft") throw Error("export: --sample-rate goes with --n-fft");
    if ((cqt_f_min > 0 || cqt_bins > 0 || cqt_f_max > 0) && grid != "cqt")
      throw Error("export: --cqt-f-min/--cqt-bins-per-octave/--cqt-f-max go with --cqt");

    const io::Checkpoint ck = io::load_checkpoint(checkpoint);
    NamedTensors factors = ck.factors;
    int64_t grid_size = 0;  // frequencies W was sampled at (printed even when --only drops them)
    if (!grid.empty()) {
      if (!ck.factors.find("coordinates"))
        throw Error("export: --" + grid + ": model '" + ck.model_type + "' of " + checkpoint +
                    " has no dictionary on a continuous frequency axis (innmf has)");
      const Config c = Config::parse(ck.config_yaml, checkpoint + " (config)");
      const torch::Tensor* coords = ck.factors.find("coordinates");
      require(coords != nullptr, checkpoint + ": has no 'coordinates' factor");
      const double model_rate = coords->to(torch::kFloat64)[0].item<double>();
      torch::Tensor f;
      if (grid == "frequencies") {
        f = torch::tensor(frequencies, torch::kFloat64);
      } else if (grid == "n-fft") {
        f = signal::stft_frequencies(static_cast<int64_t>(n_fft), sample_rate > 0 ? sample_rate : model_rate);
      } else {
        signal::ConstantQOptions o;
        o.f_min = cqt_f_min > 0 ? cqt_f_min : c.number("data.transform.cqt_f_min");
        o.bins_per_octave = static_cast<int>(cqt_bins > 0 ? cqt_bins : c.integer("data.transform.cqt_bins_per_octave"));
        o.f_max = cqt_f_max;
        f = signal::constant_q_frequencies(model_rate, o);
      }
      const torch::Tensor W = app::sample_dictionary(ck, f, grid == "n-fft" ? static_cast<int64_t>(n_fft) : 0, checkpoint);
      factors = NamedTensors();
      for (const auto& item : ck.factors)
        if (item.key() != "W" && item.key() != "frequencies") factors.insert(item.key(), item.value());
      factors.insert("W", W);
      factors.insert("frequencies", f);
      grid_size = f.numel();
    }
    if (!only.empty()) {
      NamedTensors kept;
      for (const std::string& name : only) {
        const torch::Tensor* t = factors.find(name);
        if (!t) {
          std::string names;
          for (const auto& item : factors) names += (names.empty() ? "" : ", ") + item.key();
          throw Error("export: --only: " + checkpoint + " has no factor '" + name + "' (it has: " + names + ")");
        }
        kept.insert(name, *t);
      }
      factors = kept;
    }
    std::vector<std::string> formats;
    if (format != "pt") formats.push_back("npy");
    if (format != "npy") formats.push_back("pt");
    app::export_factors(factors, ck.descriptions, out, formats);
    // DIR has a run directory's layout (factors/*.npy, factors.pt): say where the files are.
    std::string written;
    if (format != "pt") {
      std::string names;
      for (const auto& item : factors) names += (names.empty() ? "" : ",") + item.key();
      written = (std::filesystem::path(out) / "factors").string() + "/" +
                (factors.size() == 1 ? names : "{" + names + "}") + ".npy";
    }
    if (format != "npy") written += (written.empty() ? "" : " and ") + (std::filesystem::path(out) / "factors.pt").string();
    std::printf("exported %zu factor%s of %s to %s", factors.size(), factors.size() == 1 ? "" : "s", checkpoint.c_str(),
                written.c_str());
    if (!grid.empty())
      std::printf(" (W sampled at %lld frequenc%s)", static_cast<long long>(grid_size), grid_size == 1 ? "y" : "ies");
    std::printf("\n");
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
    std::printf("optimizer   %s\nfactors (factorch export CHECKPOINT --out DIR [--only NAME,...])\n",
                ck.train_state.optimizer_state.empty() ? "none (MU)" : "saved");
    // Columns as wide as their longest entry (iN-NMF's network weights have long names and shapes).
    int name_width = 10, shape_width = 16;
    for (const auto& f : ck.factors) {
      name_width = std::max(name_width, static_cast<int>(f.key().size()));
      shape_width = std::max(shape_width, static_cast<int>(shape_string(f.value()).size()));
    }
    for (const auto& f : ck.factors) {
      // What the model said the factor is (checkpoints written before descriptions: nothing).
      const FactorDescription* d = find_factor(ck.descriptions, f.key());
      const std::string what = d ? d->meaning : "";
      std::printf("  %-*s %-*s %-8s%s%s\n", name_width, f.key().c_str(), shape_width, shape_string(f.value()).c_str(),
                  c10::toString(f.value().scalar_type()), what.empty() ? "" : "  ", what.c_str());
    }
    if (ck.factors.find("coordinates"))
      std::printf("  W on any frequency grid: factorch export CHECKPOINT --out DIR --frequencies F1,F2,... | --n-fft N "
                  "[--sample-rate R] | --cqt\n");
    std::printf("config\n%s", ck.config_yaml.c_str());
    return 0;
  });
}

}  // namespace factorch::cli
