#include "factorch/separation/separate.h"

#include "factorch/error.h"
#include "factorch/signal/wiener.h"

namespace factorch::separation {

std::vector<torch::Tensor> masked_coefficients(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& parts,
                                               double exponent) {
  require(!parts.empty(), "separation: no source parts");
  require(exponent > 0, "separation: the mask exponent must be > 0, not " + std::to_string(exponent));
  std::vector<torch::Tensor> powers;
  powers.reserve(parts.size());
  for (const auto& p : parts) {
    require(p.sizes() == coefficients.sizes(), "separation: a source part is " + c10::str(p.sizes()) +
                                                   " but the coefficients are " + c10::str(coefficients.sizes()));
    powers.push_back(exponent == 1.0 ? p : p.pow(exponent));
  }
  return signal::apply_masks(coefficients, signal::wiener_masks(powers));
}

std::vector<torch::Tensor> dictionary_parts(const std::vector<torch::Tensor>& dictionaries, const torch::Tensor& H) {
  std::vector<torch::Tensor> parts;
  int64_t k0 = 0;
  for (const auto& W : dictionaries) {
    require(k0 + W.size(1) <= H.size(0), "dictionary_parts: H has " + std::to_string(H.size(0)) +
                                             " rows, fewer than the dictionaries' components");
    parts.push_back(torch::mm(W, H.slice(0, k0, k0 + W.size(1))));
    k0 += W.size(1);
  }
  require(k0 == H.size(0), "dictionary_parts: H has " + std::to_string(H.size(0)) + " rows for " +
                               std::to_string(k0) + " components");
  return parts;
}

Separation separate(const torch::Tensor& x, const Representation& rep, const SourceParts& parts,
                    const SeparateOptions& options) {
  require(x.dim() == 1, "separate: the mixture must be one channel of T samples");
  const torch::Tensor coefficients = rep.analyse(x);
  const std::vector<torch::Tensor> P = parts(rep.nonnegative(coefficients));
  const double p = options.mask_exponent > 0 ? options.mask_exponent : rep.power_exponent();
  const int64_t length = x.size(0);
  Separation out;
  SeparatedMixture& m = out.mixture;
  m.name = options.name;
  m.estimates = wiener_estimates(coefficients, P, p, [&](const torch::Tensor& X) { return rep.synthesise(X, length); });
  m.names = options.names;
  if (m.names.empty())
    for (int64_t s = 0; s < m.estimates.size(0); ++s) m.names.push_back("source" + std::to_string(s + 1));
  if (options.keep_mixture) m.mixture = x;
  if (options.references.defined()) {
    m.references = options.references;
    m.reference_names = options.reference_names;
    SeparationStepOptions step;
    step.known_assignment = options.known_assignment;
    step.filter_length = options.filter_length;
    out.table = score_separation(m, step);
    out.scored = true;
  }
  return out;
}

BlockSeparator::BlockSeparator(const Representation& representation, SourceParts parts, int64_t sources, int64_t length,
                               double mask_exponent)
    : representation_(representation), parts_(std::move(parts)),
      exponent_(mask_exponent > 0 ? mask_exponent : representation.power_exponent()),
      ola_(sources, representation.window(), representation.hop(), representation.left(), length) {}

torch::Tensor BlockSeparator::push(const torch::Tensor& segment) {
  const torch::Tensor X = representation_.analyse_frames(segment);
  std::vector<torch::Tensor> frames;
  for (const auto& masked : masked_coefficients(X, parts_(representation_.nonnegative(X)), exponent_))
    frames.push_back(representation_.frames_of(masked));
  return ola_.push(torch::stack(frames));
}

}  // namespace factorch::separation
