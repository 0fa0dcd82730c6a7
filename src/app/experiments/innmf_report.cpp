// iN-NMF's report of `factorch train`: dictionary exports on requested grids, the
// resolution-transfer table (W sampled at other DFT sizes, only H fitted, vs matrix NMF
// re-trained per size), the separation report (innmf_separation.cpp) and PNGs of the factors
// (io/png.h; tools/plot_innmf.py draws matplotlib figures). Everything comes from the run's
// InnmfData: nothing is loaded again here.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/experiments/implicit_nmf_entry.h"
#include "factorch/eval/table.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/png.h"
#include "factorch/models/nmf.h"
#include "factorch/signal/stft.h"
#include "factorch/train/trainer.h"

namespace factorch::innmf {

namespace fs = std::filesystem;

double transferred_kl(const torch::Tensor& V, const torch::Tensor& W, int64_t iterations) {
  NMF nmf(NMFOptions(V.size(0), V.size(1), W.size(1)).fixed_w(true));
  nmf->fit_activations(W, V, iterations);  // the library's one activation fit (convex in H)
  return nmf->loss(TrainingData(V.to(torch::kFloat64))).item<double>();
}

double fit_nmf(const torch::Tensor& V, int64_t rank, int64_t iterations, uint64_t seed, torch::Tensor* W) {
  auto nmf = std::make_shared<NMFImpl>(NMFOptions(V.size(0), V.size(1), rank).normalise(Normalisation::L1));
  nmf->init(V, "random", seed);
  TrainerOptions t;
  t.kind("mu").max_iter(iterations).tol(1e-8).progress("never");
  const TrainingData d{V, {}, false};
  const TrainResult r = make_trainer(t)->fit(nmf, d);
  if (W) *W = nmf->W().detach();
  return r.objective;
}

std::vector<TransferRow> transfer_table(const Config& c, ImplicitNMFImpl& model, const Signal& s,
                                        const std::vector<int64_t>& sizes, int64_t iterations) {
  torch::NoGradGuard no_grad;
  std::vector<TransferRow> rows;
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  for (const int64_t n_fft : sizes) {
    const Spectrogram sp = stft_spectrogram(c, s, n_fft);
    TransferRow r;
    r.n_fft = n_fft;
    r.bins = sp.V.size(0);
    r.frames = sp.V.size(1);
    const torch::Tensor W = model.dictionary(sp.frequencies, n_fft).to(torch::kFloat64).cpu();
    r.innmf = transferred_kl(sp.V, W, iterations);
    r.nmf = fit_nmf(sp.V, model.options.rank(), iterations, seed);
    r.ratio = r.innmf / r.nmf;
    rows.push_back(r);
  }
  return rows;
}


namespace {

void write_transfer(const std::vector<TransferRow>& rows, const std::vector<int64_t>& trained, const std::string& out_dir) {
  std::string sizes;
  for (const int64_t n : trained) sizes += (sizes.empty() ? "" : " + ") + std::to_string(n);
  std::printf("resolution transfer (iN-NMF W learnt at n_fft = %s, only H fitted; NMF re-trained per size), KL:\n",
              sizes.c_str());
  std::printf("  %7s %6s %7s %14s %14s %8s\n", "n_fft", "bins", "frames", "iN-NMF", "NMF", "ratio");
  eval::Table table("transfer", {"n_fft", "bins", "frames", "kl_innmf_transferred", "kl_nmf_per_size", "ratio"});
  for (const auto& r : rows) {
    std::printf("  %7lld %6lld %7lld %14.6g %14.6g %8.4f%s\n", static_cast<long long>(r.n_fft), static_cast<long long>(r.bins),
                static_cast<long long>(r.frames), r.innmf, r.nmf, r.ratio,
                std::find(trained.begin(), trained.end(), r.n_fft) != trained.end() ? "  (training size)" : "");
    table.add_row({r.n_fft, r.bins, r.frames, r.innmf, r.nmf, r.ratio});
  }
  table.set("trained_n_fft", trained.front()).set("joint_n_fft", std::vector<int64_t>(trained.begin() + 1, trained.end()));
  eval::write_table(table, out_dir, eval::TableFormat::JsonAndCsv);
}

// Pictures without matplotlib: each template W_k (normalised to its maximum, low
// frequencies at the bottom) as a 24-pixel-wide band, and H (each row normalised) with
// 12-pixel-high rows and 3-pixel-wide frames, via the shared PNG writer. tools/plot_innmf.py draws nicer figures.
void write_pictures(ImplicitNMFImpl& model, const std::string& out_dir) {
  const torch::Tensor W = model.dictionary(model.frequencies()).to(torch::kFloat64);  // F × K
  const torch::Tensor H = model.activations(model.times()).to(torch::kFloat64);        // K × N
  const torch::Tensor Wn = W / W.amax(0, true).clamp_min(1e-30);
  const torch::Tensor Hn = H / H.amax(1, true).clamp_min(1e-30);
  io::write_png_heatmap((fs::path(out_dir) / "innmf_W.png").string(), Wn.flip(0).repeat_interleave(24, 1), false);
  io::write_png_heatmap((fs::path(out_dir) / "innmf_H.png").string(), Hn.flip(0).repeat_interleave(12, 0).repeat_interleave(3, 1), false);
}

}  // namespace

void report_innmf(const Config& c, FactorModelImpl& base, const app::Dataset& data, const std::string& out_dir) {
  auto& model = dynamic_cast<ImplicitNMFImpl&>(base);
  const InnmfData& own = data.get<InnmfData>();  // sizes and kinds were checked by the builder
  // The report works on the CPU in float64 (MU baselines, BSS eval); training may be elsewhere.
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  const auto dtype = model.parameters().empty() ? torch::kFloat64 : model.parameters().front().scalar_type();
  model.to(torch::kCPU, torch::kFloat64);
  torch::NoGradGuard no_grad;
  const double rate = model.options.sample_rate();
  for (const int64_t n : c.integers("model.export_n_fft")) {
    const torch::Tensor f = signal::stft_frequencies(n, rate);
    io::save_npy((fs::path(out_dir) / "dictionary" / ("W_nfft" + std::to_string(n) + ".npy")).string(), model.dictionary(f, n));
    io::save_npy((fs::path(out_dir) / "dictionary" / ("frequencies_nfft" + std::to_string(n) + ".npy")).string(), f);
  }
  {  // report.html draws W_k(f) as curves: the templates on a fine grid over the trained range
    const torch::Tensor f = model.frequencies().to(torch::kCPU, torch::kFloat64);
    const double lo = f.min().item<double>(), hi = f.max().item<double>();
    const torch::Tensor fine = own.representation == "cqt" && lo > 0
                                   ? torch::logspace(std::log10(lo), std::log10(hi), 2048, 10.0, torch::kFloat64)
                                   : torch::linspace(lo, hi, 2048, torch::kFloat64);
    io::save_npy((fs::path(out_dir) / "dictionary" / "W_fine.npy").string(), model.dictionary(fine));
    io::save_npy((fs::path(out_dir) / "dictionary" / "frequencies_fine.npy").string(), fine);
  }
  const std::vector<double> custom = c.numbers("model.export_frequencies");
  if (!custom.empty()) {
    const torch::Tensor f = torch::tensor(custom, torch::kFloat64);
    io::save_npy((fs::path(out_dir) / "dictionary" / "W_custom.npy").string(), model.dictionary(f));
    io::save_npy((fs::path(out_dir) / "dictionary" / "frequencies_custom.npy").string(), f);
  }
  const std::vector<int64_t> sizes = c.integers("model.transfer_n_fft");
  if (!sizes.empty()) {
    const auto rows = transfer_table(c, model, own.signal, sizes, c.integer("model.report_iter"));
    std::vector<int64_t> trained{c.integer("data.transform.n_fft")};
    for (const int64_t n : model.joint_n_fft()) trained.push_back(n);
    write_transfer(rows, trained, out_dir);
  }
  if (own.separation && !c.integers("model.separation_n_fft").empty()) separation_report(c, *own.separation, out_dir);
  if (c.boolean("model.plot")) write_pictures(model, out_dir);
  model.to(device, dtype);
}

}  // namespace factorch::innmf
