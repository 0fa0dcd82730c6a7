// `factorch eval --ref a.wav b.wav --est x.wav y.wav [--out metrics.json]`: BSS Eval
// SDR/SIR/SAR of estimated sources against references, best permutation by mean SIR.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli_support.h"
#include "app/report.h"
#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/wav.h"

namespace factorch::cli {

namespace {

const char* kEvalUsage =
    "usage: factorch eval --ref REF.wav... --est EST.wav... [--out metrics.json]\n"
    "\n"
    "BSS Eval (bss_eval_sources, 512-tap distortion filters) of mono estimates against mono\n"
    "references of the same sample rate and length. Estimates are matched to references by\n"
    "the permutation with the best mean SIR. Prints a table and writes the metrics as JSON\n"
    "(default metrics.json) and, next to it, report.html with players and spectrograms.\n";

// One line and status 1, like every command's usage errors (cli_support.h).
int usage_error(const std::string& message) { return report_usage_error(UsageError("eval", message)); }

std::string fit(const std::string& s, size_t width) {
  if (s.size() <= width) return s + std::string(width - s.size(), ' ');
  return "..." + s.substr(s.size() - (width - 4)) + " ";  // keep the informative end of a long path
}

std::string db(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%9.2f", v);
  return buf;
}

}  // namespace

int eval(const Args& args) {
  std::vector<std::string> refs, ests;
  std::string out = "metrics.json";
  std::vector<std::string>* list = nullptr;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kEvalUsage, stdout);
      return 0;
    } else if (a == "--ref") {
      list = &refs;
    } else if (a == "--est") {
      list = &ests;
    } else if (a == "--out") {
      if (i + 1 >= args.size()) return usage_error("--out needs a path");
      out = args[++i];
      list = nullptr;
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      return usage_error("unknown option '" + a + "'");
    } else if (list) {
      list->push_back(a);
    } else {
      return usage_error("unexpected argument '" + a + "' (files follow --ref or --est)");
    }
  }
  if (refs.empty() || ests.empty()) return usage_error("need at least one --ref and one --est file");
  if (refs.size() != ests.size())
    return usage_error(std::to_string(refs.size()) + " reference(s) but " + std::to_string(ests.size()) +
                       " estimate(s)");

  try {
    io::ReadOptions mono;
    mono.require_mono = true;
    std::vector<io::Audio> ref_audio, est_audio;
    for (const auto& p : refs) ref_audio.push_back(io::read_wav(p, mono));
    for (const auto& p : ests) est_audio.push_back(io::read_wav(p, mono));
    const io::Audio& first = ref_audio.front();
    std::vector<torch::Tensor> ref_samples, est_samples;
    for (auto* group : {&ref_audio, &est_audio})
      for (const auto& a : *group) {
        io::require_same_rate(first, a);
        require(a.frames() == first.frames(), a.path + ": " + std::to_string(a.frames()) +
                                                  " samples differ from the " + std::to_string(first.frames()) +
                                                  " samples of " + first.path);
      }
    for (const auto& a : ref_audio) ref_samples.push_back(a.samples[0]);
    for (const auto& a : est_audio) est_samples.push_back(a.samples[0]);

    eval::BssEvalOptions options;
    eval::BssEvalResult result;
    try {
      result = eval::bss_eval_sources(torch::stack(ref_samples), torch::stack(est_samples), options);
    } catch (const Error& e) {
      // Name the file behind a silent-source complaint ("... reference 1 is silent ...").
      std::string message = e.what();
      for (size_t k = 0; k < refs.size(); ++k) {
        if (message.find("reference " + std::to_string(k) + " is silent") != std::string::npos)
          throw Error(refs[k] + ": reference is silent (all zeros)");
        if (message.find("estimate " + std::to_string(k) + " is silent") != std::string::npos)
          throw Error(ests[k] + ": estimate is silent (all zeros)");
      }
      throw;
    }

    const size_t width = 28;
    std::printf("%s%s%9s%9s%9s\n", fit("reference", width).c_str(), fit("estimate", width).c_str(), "SDR (dB)",
                "SIR (dB)", "SAR (dB)");
    for (size_t j = 0; j < refs.size(); ++j) {
      std::printf("%s%s%s%s%s\n", fit(refs[j], width).c_str(), fit(ests[result.permutation[j]], width).c_str(),
                  db(result.sdr[j].item<double>()).c_str(), db(result.sir[j].item<double>()).c_str(),
                  db(result.sar[j].item<double>()).c_str());
    }
    std::printf("%s%s%s%s\n", fit("mean", 2 * width).c_str(), db(result.sdr.mean().item<double>()).c_str(),
                db(result.sir.mean().item<double>()).c_str(), db(result.sar.mean().item<double>()).c_str());
    std::printf("permutation (estimate index per reference):");
    for (const auto k : result.permutation) std::printf(" %lld", static_cast<long long>(k));
    std::printf("\n");

    eval::write_json(out, eval::bss_metrics_json(result, refs, ests, options));
    std::printf("wrote %s\n", out.c_str());
    // report.html next to metrics.json: the table, players and spectrograms of the files.
    const std::string dir = std::filesystem::path(out).parent_path().string();
    const std::string page = app::write_run_report_or_warn(dir.empty() ? "." : dir);
    if (!page.empty()) std::printf("report: %s\n", page.c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "factorch: error: %s\n", e.what());
    return 2;
  }
}

}  // namespace factorch::cli
