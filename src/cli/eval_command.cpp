// `factorch eval --ref a.wav b.wav --est x.wav y.wav [--out metrics.json] [--window S --hop S]`:
// BSS Eval SDR/SIR/SAR of estimated sources against references, best permutation by mean
// SIR; files longer than --block-seconds are read and scored block by block (bounded memory,
// eval/bss_streaming.h); --window adds framewise scores (SiSEC/museval) to metrics.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli_support.h"
#include "app/report.h"
#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/bss_streaming.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/io/wav_stream.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/wav.h"

namespace factorch::cli {

namespace {

const char* kEvalUsage =
    "usage: factorch eval --ref REF.wav... --est EST.wav... [--out metrics.json]\n"
    "                     [--window SECONDS [--hop SECONDS]] [--block-seconds SECONDS]\n"
    "\n"
    "BSS Eval (bss_eval_sources, 512-tap distortion filters) of mono estimates against mono\n"
    "references of the same sample rate and length. Estimates are matched to references by\n"
    "the permutation with the best mean SIR. Prints a table and writes the metrics as JSON\n"
    "(default metrics.json) and, next to it, report.html with players and spectrograms.\n"
    "  --window S, --hop S   also framewise scores on windows of S seconds every hop seconds\n"
    "                        (default hop: the window; SiSEC/museval use 1 and 1), written per\n"
    "                        frame with their median under \"framewise\" in metrics.json\n"
    "  --block-seconds S     files longer than S seconds (default 30) are read and scored in\n"
    "                        blocks of S seconds: memory stays bounded (no report.html then)\n";

// "--window 1.5": a positive number of seconds, or a usage error naming the option.
double seconds_of(const std::string& option, const std::string& value) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || !(v > 0) || !std::isfinite(v))
    throw UsageError("eval", option + " needs a positive number of seconds, not '" + value + "'");
  return v;
}

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
  double window_s = 0, hop_s = 0, block_s = 30;
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
    } else if (a == "--window" || a == "--hop" || a == "--block-seconds") {
      if (i + 1 >= args.size()) return usage_error(a + " needs a number of seconds");
      try {
        (a == "--window" ? window_s : a == "--hop" ? hop_s : block_s) = seconds_of(a, args[++i]);
      } catch (const UsageError& e) {
        return report_usage_error(e);
      }
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
  if (hop_s > 0 && window_s == 0) return usage_error("--hop needs --window");

  try {
    io::ReadOptions mono;
    mono.require_mono = true;
    // Headers first: rates and lengths agree before any sample is read.
    std::vector<io::WavBlockReader> ref_files, est_files;
    for (const auto& p : refs) ref_files.emplace_back(p, mono);
    for (const auto& p : ests) est_files.emplace_back(p, mono);
    const io::WavBlockReader& first = ref_files.front();
    for (auto* group : {&ref_files, &est_files})
      for (const auto& f : *group) {
        require(f.sample_rate() == first.sample_rate(), f.path() + ": sample rate " + std::to_string(f.sample_rate()) +
                                                            " Hz differs from " + std::to_string(first.sample_rate()) +
                                                            " Hz of " + first.path());
        require(f.frames() == first.frames(), f.path() + ": " + std::to_string(f.frames()) +
                                                  " samples differ from the " + std::to_string(first.frames()) +
                                                  " samples of " + first.path());
      }
    const int64_t T = first.frames(), S = static_cast<int64_t>(refs.size());
    const int rate = first.sample_rate();
    const int64_t block = std::max<int64_t>(1, std::llround(block_s * rate));
    const bool streamed = T > block;
    const auto read_all = [&](std::vector<io::WavBlockReader>& files, int64_t start, int64_t count) {
      std::vector<torch::Tensor> rows;
      for (auto& f : files) rows.push_back(f.read(start, count)[0]);
      return torch::stack(rows);
    };

    eval::BssEvalOptions options;
    eval::BssEvalResult result;
    try {
      if (!streamed) {
        result = eval::bss_eval_sources(read_all(ref_files, 0, T), read_all(est_files, 0, T), options);
      } else {
        eval::BssEvalAccumulator whole(S, options);
        for (int64_t t = 0; t < T; t += block) {
          const int64_t n = std::min(block, T - t);
          whole.add(read_all(ref_files, t, n), read_all(est_files, t, n));
        }
        result = whole.result();
      }
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
    eval::MetricsTable table = eval::metrics_table(result, refs, ests, options);
    if (window_s > 0) {
      // Frames score each estimate against the reference the whole signal assigned it to.
      eval::BssEvalOptions known = options;
      known.compute_permutation = false;
      const int64_t window = std::max<int64_t>(1, std::llround(window_s * rate));
      const int64_t hop = std::max<int64_t>(1, std::llround((hop_s > 0 ? hop_s : window_s) * rate));
      eval::FramewiseBssEval framewise(S, window, hop, known);
      const auto order = torch::tensor(result.permutation, torch::kLong);
      for (int64_t t = 0; t < T; t += block) {
        const int64_t n = std::min(block, T - t);
        framewise.add(read_all(ref_files, t, n), read_all(est_files, t, n).index_select(0, order));
      }
      table.framewise = eval::framewise_scores(framewise.finish(), rate);
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

    if (!table.framewise.empty()) {
      const eval::FramewiseScores& f = table.framewise;
      std::printf("framewise (%zu frames of %g s, hop %g s), median SDR / SIR / SAR (dB):\n", f.sdr.front().size(),
                  f.window, f.hop);
      for (size_t j = 0; j < refs.size(); ++j)
        std::printf("%s%s%s%s%s\n", fit(refs[j], width).c_str(), fit(ests[result.permutation[j]], width).c_str(),
                    db(f.median_sdr[j]).c_str(), db(f.median_sir[j]).c_str(), db(f.median_sar[j]).c_str());
    }
    // The files are named as given (relative to this working directory): the directory is kept
    // so that `factorch report` finds them from anywhere.
    eval::Json details = eval::Json::object();
    details.set("working_directory", std::filesystem::current_path().string());
    eval::write_json(out, eval::metrics_json({table}, {}, details));
    std::printf("wrote %s\n", out.c_str());
    if (streamed) {
      // report.html draws spectrograms of whole files: not for recordings this long.
      std::printf("report.html not written: the files are longer than --block-seconds\n");
      return 0;
    }
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
