// factorch_bench long_separation [--minutes 5,15,60] [--dir DIR] [--iter 100] [--rank 20]
//                                [--block-seconds 30] [--window SECONDS]
// Separation and scoring of long recordings in bounded memory (app/separation_blocks.h).
// For each length L it writes a two-source 16 kHz mixture of L minutes (two harmonic
// "voices" with changing pitches that take turns and overlap), its references and 30 s of
// training audio per source, then runs as child processes
//   factorch separate  (supervised NMF, K = rank per source, `iter` MU sweeps, BSS Eval
//                       against the references accumulated block by block)
//   factorch eval      (the two estimates against the references, streamed)
// and reports each child's wall time and max RSS (ru_maxrss from wait4), and the time per
// minute of audio, and the marginal time per minute between consecutive lengths (the fixed
// cost — start-up, the dictionaries learnt on the training audio — cancels there): flat
// memory and a constant marginal time per minute mean the cost is linear in the length.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "benchmarks.h"
#include "factorch/io/wav_stream.h"
#include "factorch/signal/synthetic.h"

namespace factorch::bench {

namespace {

namespace fs = std::filesystem;
constexpr int kRate = 16000;

struct ChildRun {
  int status = -1;
  double seconds = 0;
  double max_rss_mb = 0;
};

// Runs argv as a child (stdout/stderr to `log`); wall time and the child's max RSS.
ChildRun run_child(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);  // or the child would flush our buffered lines once more
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) _exit(127);
    execv(args[0], args.data());
    _exit(127);
  }
  ChildRun r;
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.max_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  return r;
}

// One "voice": 2-second notes of a pitch drawn from `pitches`, present in about `presence`
// of the notes. Written in 10 s chunks so that the generator stays small too.
struct Voice {
  std::vector<double> pitches;
  double presence;
  uint64_t seed;
};

torch::Tensor voice_chunk(const Voice& v, int64_t chunk, int64_t samples) {
  const int64_t note = 2 * kRate;
  std::vector<torch::Tensor> notes;
  for (int64_t start = 0; start < samples; start += note) {
    const int64_t n = std::min(note, samples - start);
    const uint64_t id = v.seed * 1000003ULL + static_cast<uint64_t>(chunk) * 101ULL + static_cast<uint64_t>(start / note);
    const double hz = v.pitches[id % v.pitches.size()];
    const bool on = static_cast<double>((id * 2654435761ULL) % 1000) < 1000.0 * v.presence;
    notes.push_back(on ? signal::harmonic_source(hz, kRate, n, 6, 0.7, {}, id) * 0.3 : torch::zeros({n}, torch::kFloat64));
  }
  return torch::cat(notes);
}

void write_voices(const std::vector<Voice>& voices, double seconds, const std::vector<std::string>& paths,
                  const std::string& mixture_path) {
  std::vector<std::unique_ptr<io::WavBlockWriter>> out;
  for (const auto& p : paths) out.push_back(std::make_unique<io::WavBlockWriter>(p, 1, kRate));
  std::unique_ptr<io::WavBlockWriter> mix;
  if (!mixture_path.empty()) mix = std::make_unique<io::WavBlockWriter>(mixture_path, 1, kRate);
  const int64_t total = static_cast<int64_t>(seconds * kRate), chunk = 10 * kRate;
  for (int64_t c = 0; c * chunk < total; ++c) {
    const int64_t n = std::min(chunk, total - c * chunk);
    torch::Tensor sum = torch::zeros({n}, torch::kFloat64);
    for (size_t s = 0; s < voices.size(); ++s) {
      const torch::Tensor x = voice_chunk(voices[s], c, n);
      out[s]->write(x);
      sum += x;
    }
    if (mix) mix->write(sum);
  }
  for (auto& w : out) w->commit();
  if (mix) mix->commit();
}

std::string self_dir() { return fs::read_symlink("/proc/self/exe").parent_path().string(); }

std::string uptime() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int bench_long_separation(int argc, char** argv) {
  std::vector<double> minutes{5, 15, 60};
  std::string dir = "/tmp/factorch_bench_long";
  int iter = 100, rank = 20;
  double block_seconds = 30, window = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--minutes") {
      minutes.clear();
      std::stringstream list(value());
      for (std::string m; std::getline(list, m, ',');) minutes.push_back(std::stod(m));
    } else if (a == "--dir") {
      dir = value();
    } else if (a == "--iter") {
      iter = std::stoi(value());
    } else if (a == "--rank") {
      rank = std::stoi(value());
    } else if (a == "--block-seconds") {
      block_seconds = std::stod(value());
    } else if (a == "--window") {
      window = std::stod(value());
    } else {
      std::fprintf(stderr,
                   "usage: factorch_bench long_separation [--minutes 5,15,60] [--dir DIR] [--iter 100] [--rank 20]\n"
                   "                                      [--block-seconds 30] [--window SECONDS]\n");
      return 1;
    }
  }
  const std::string factorch = self_dir() + "/factorch";
  fs::create_directories(dir);
  // Two voices, low and high, each present in ~60 % of the 2 s notes: they overlap often.
  const std::vector<Voice> voices{{{110, 123, 131, 147, 165}, 0.6, 1}, {{220, 247, 262, 294, 330}, 0.6, 2}};
  write_voices({{voices[0].pitches, 1.0, 11}, {voices[1].pitches, 1.0, 12}}, 30,
               {dir + "/train_low.wav", dir + "/train_high.wav"}, "");

  std::printf("long_separation: 16 kHz, 2 sources, K = %d per source, %d MU sweeps, blocks of %g s%s\n", rank, iter,
              block_seconds, window > 0 ? (", framewise window " + std::to_string(window) + " s").c_str() : "");
  std::printf("load average at start: %s\n", uptime().c_str());
  std::printf("%8s  %-9s %9s %11s %13s %15s %9s\n", "minutes", "step", "wall (s)", "max RSS MB", "s per minute",
              "marginal s/min", "SDR (dB)");
  double last_L = 0, last_sep = 0, last_eval = 0;
  const auto marginal = [&](double L, double t, double last_t) -> std::string {
    if (last_L <= 0) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", (t - last_t) / (L - last_L));
    return buf;
  };
  for (const double L : minutes) {
    const std::string run = dir + "/L" + std::to_string(static_cast<int>(L * 60));
    fs::create_directories(run);
    write_voices(voices, L * 60, {run + "/ref_low.wav", run + "/ref_high.wav"}, run + "/mix.wav");
    std::ofstream(run + "/sep.yaml") << "model: {type: nmf, rank: " << rank << ", beta: 1, eps: 1.0e-9}\n"
                                     << "data:\n  input: mix.wav\n"
                                     << "  train: {low: ../train_low.wav, high: ../train_high.wav}\n"
                                     << "  references: {low: ref_low.wav, high: ref_high.wav}\n"
                                     << "  transform: {n_fft: 1024, hop: 256}\n"
                                     << "  block_seconds: " << block_seconds << "\n"
                                     << "trainer: {max_iter: " << iter << ", tol: 0, progress: never, threads: 1}\n"
                                     << "output: {dir: out, eval_window: " << window << "}\n";
    fs::current_path(run);
    const ChildRun sep = run_child({factorch, "separate", "sep.yaml", "--quiet"}, run + "/separate.log");
    double sdr = std::nan("");
    {
      std::ifstream m(run + "/out/metrics.json");
      std::string text((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
      const auto at = text.find("\"mean\"");
      const auto s = at == std::string::npos ? std::string::npos : text.find("\"sdr\":", at);
      if (s != std::string::npos) sdr = std::atof(text.c_str() + s + 6);
    }
    std::printf("%8g  %-9s %9.1f %11.0f %13.2f %15s %9.2f%s\n", L, "separate", sep.seconds, sep.max_rss_mb,
                sep.seconds / L, marginal(L, sep.seconds, last_sep).c_str(), sdr,
                sep.status == 0 ? "" : "  FAILED (see separate.log)");
    std::vector<std::string> eval_args{factorch, "eval", "--ref", "ref_low.wav", "ref_high.wav", "--est",
                                       "out/sources/low.wav", "out/sources/high.wav", "--out", "eval/metrics.json",
                                       "--block-seconds", std::to_string(block_seconds)};
    if (window > 0) eval_args.insert(eval_args.end(), {"--window", std::to_string(window)});
    fs::create_directories(run + "/eval");
    const ChildRun ev = run_child(eval_args, run + "/eval.log");
    std::printf("%8g  %-9s %9.1f %11.0f %13.2f %15s %9s%s\n", L, "eval", ev.seconds, ev.max_rss_mb, ev.seconds / L,
                marginal(L, ev.seconds, last_eval).c_str(), "", ev.status == 0 ? "" : "  FAILED (see eval.log)");
    last_L = L, last_sep = sep.seconds, last_eval = ev.seconds;
    std::fflush(stdout);
    // The audio of the next length replaces this one's (disk: ~4 × 230 MB per hour).
    fs::remove(run + "/mix.wav");
    fs::remove(run + "/ref_low.wav");
    fs::remove(run + "/ref_high.wav");
    fs::remove_all(run + "/out/sources");
    fs::remove(run + "/out/mixture.wav");
  }
  std::printf("load average at end: %s\n", uptime().c_str());
  return 0;
}

}  // namespace factorch::bench
