// TL-NMF's baselines: the same model with Φ fixed to the DCT (DCT-NMF, trained on the same
// frames through the same code path) and, in supervised mode, supervised IS-NMF on an STFT
// with the same frames (the ICASSP paper's baseline).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "app/experiments/tlnmf_app.h"
#include "factorch/error.h"
#include "factorch/models/nmf.h"
#include "factorch/signal/stft.h"
#include "factorch/separation/separate.h"

namespace factorch {

namespace fs = std::filesystem;

std::optional<std::vector<separation::SeparatedMixture>> tlnmf_dct_baseline(const Config& c, const app::Dataset& data,
                                                                     const std::vector<int64_t>& mapping,
                                                                     const std::string& out_dir) {
  // Fixed-transform baseline on the same code path: Φ = phi_init (DCT), same W, H seeds. Its
  // run's files sit beside the sources the separation step writes for it.
  const std::string bdir = (fs::path(out_dir) / "baselines" / "dct_nmf").string();
  std::vector<std::string> ov = {"model.learn_phi=false", "model.baseline=false", "model.plot=false", "output.dir=" + bdir};
  if (c.string("model.phi_init") == "random") ov.push_back("model.phi_init=dct");
  const Config bc = tlnmf_derived_config(c, ov);
  app::RunOptions ro;
  ro.quiet = true;
  const app::RunResult run = app::fit_model(bc, build_tlnmf(bc, data), data.matrix, ro, bdir);
  if (!run.result.ok) {  // no silent skip
    std::printf("tlnmf: DCT-NMF baseline left out (its training stopped: %s)\n", run.result.stop_reason.c_str());
    return std::nullopt;
  }
  auto* b = dynamic_cast<TLNMFImpl*>(run.model.get());
  b->to(torch::kCPU, torch::kFloat64);
  return tlnmf_separated(*b, tlnmf_signals_of(data), mapping);
}

std::vector<separation::SeparatedMixture> supervised_stft_isnmf(const Config& c, const TLNMFSignals& sig) {
  signal::StftOptions so;
  so.n_fft = sig.frame_length();
  so.hop = sig.hop;
  so.window = c.string("data.transform.window");
  so.tukey_alpha = c.number("data.transform.tukey_alpha");
  std::vector<torch::Tensor> Ws;
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < sig.training.size(0); ++s) {
    Ws.push_back(signal::power(signal::stft(sig.training[s], so)));
    sizes.push_back(Ws.back().size(1));
  }
  const torch::Tensor W = torch::cat(Ws, 1);
  const int64_t R = sig.mixtures.size(0);
  std::vector<separation::SeparatedMixture> out;
  const double eps = c.number("model.eps") > 0 ? c.number("model.eps") : 1e-12;
  separation::RepresentationOptions ro;
  ro.stft = so;
  ro.exponent = 2;  // V = |STFT|², masks on the powers W_s H_s
  const separation::Representation rep(ro);
  for (int64_t r = 0; r < R; ++r) {
    // The one routine; the parts: H of the mixture's power on the fixed W (IS-NMF, random start).
    const auto parts = [&](const torch::Tensor& V) {
      NMFOptions no(V.size(0), V.size(1), W.size(1));
      no.beta(0.0).eps(eps).fixed_w(true).l1_h(c.number("model.lambda") * static_cast<double>(sig.frame_length()) /
                                               static_cast<double>(sizes[0]));
      auto nmf = std::make_shared<NMFImpl>(no);
      nmf->init(V, "random", static_cast<uint64_t>(c.integer("model.seed")));
      // The library's activation fit from that random start, trainer.max_iter sweeps.
      const torch::Tensor start = nmf->H().detach().clone();
      return separation::dictionary_parts(
          Ws, nmf->fit_activations(W, V, c.integer("trainer.max_iter"), torch::kCPU, torch::kFloat64, start));
    };
    separation::SeparateOptions opts;
    opts.names = sig.source_names;
    opts.name = R > 1 ? "realisation" + std::to_string(r + 1) : "";  // named as tlnmf_separated names TL-NMF's
    opts.keep_mixture = false;
    separation::SeparatedMixture m = separation::separate(sig.mixtures[r], rep, parts, opts).mixture;
    if (sig.sources.defined()) m.references = sig.sources[r];
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace factorch
