#include "factorch/separation/separate_stream.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "factorch/error.h"
#include "factorch/eval/bss_streaming.h"

namespace factorch::separation {

BlockSource wav_source(io::WavBlockReader& reader) {
  BlockSource s;
  s.length = reader.frames();
  s.sample_rate = reader.sample_rate();
  s.read = [r = &reader](int64_t start, int64_t count) { return r->read(start, count)[0]; };
  return s;
}

BlockSource tensor_source(const torch::Tensor& x, int sample_rate) {
  require(x.dim() == 1, "tensor_source: the signal must be one channel of T samples");
  BlockSource s;
  s.length = x.size(0);
  s.sample_rate = sample_rate;
  s.read = [x](int64_t start, int64_t count) {
    torch::Tensor out = torch::zeros({count}, x.options());
    const int64_t a = std::max<int64_t>(start, 0), b = std::min(start + count, x.size(0));
    if (b > a) out.slice(0, a - start, b - start).copy_(x.slice(0, a, b));
    return out;
  };
  return s;
}

BlockSink wav_sink(io::WavBlockWriter& writer) {
  return [w = &writer](const torch::Tensor& samples) { w->write(samples); };
}

namespace {

void check(const BlockSource& mixture, const Representation& rep, const StreamOptions& o) {
  const auto S = static_cast<int64_t>(o.names.size());
  require(S > 0, "separate_stream: no source names (they give the number of sources)");
  require(o.block_frames >= 1, "separate_stream: block_frames must be >= 1, not " + std::to_string(o.block_frames));
  require(static_cast<bool>(mixture.read), "separate_stream: the mixture has no reader");
  require(mixture.length >= rep.frame_length(), "separate_stream: the mixture has " + std::to_string(mixture.length) +
                                                    " samples, shorter than one frame (" +
                                                    std::to_string(rep.frame_length()) + ")");
  require(o.sources.empty() || static_cast<int64_t>(o.sources.size()) == S,
          "separate_stream: " + std::to_string(o.sources.size()) + " source sinks for " + std::to_string(S) + " sources");
  if (o.references.empty()) return;
  require(static_cast<int64_t>(o.references.size()) == S,
          "separate_stream: " + std::to_string(o.references.size()) + " references for " + std::to_string(S) + " sources");
  require(o.reference_names.empty() || o.reference_names.size() == o.references.size(),
          "separate_stream: " + std::to_string(o.reference_names.size()) + " reference names for " +
              std::to_string(o.references.size()) + " references");
  for (size_t s = 0; s < o.references.size(); ++s) {
    const BlockSource& r = o.references[s];
    require(static_cast<bool>(r.read), "separate_stream: reference " + std::to_string(s + 1) + " has no reader");
    require(r.length == mixture.length, "separate_stream: reference " + std::to_string(s + 1) + " has " +
                                            std::to_string(r.length) + " samples but the mixture has " +
                                            std::to_string(mixture.length));
    require(r.sample_rate == 0 || mixture.sample_rate == 0 || r.sample_rate == mixture.sample_rate,
            "separate_stream: reference " + std::to_string(s + 1) + " has sample rate " +
                std::to_string(r.sample_rate) + " Hz but the mixture " + std::to_string(mixture.sample_rate) + " Hz");
  }
  require(o.eval_window <= 0 || mixture.sample_rate > 0,
          "separate_stream: framewise scores (eval_window) need the mixture's sample rate");
}

}  // namespace

StreamSeparation separate_stream(const BlockSource& mixture, const Representation& rep, const SourceParts& parts,
                                 const StreamOptions& o) {
  check(mixture, rep, o);
  const auto S = static_cast<int64_t>(o.names.size());
  const int64_t T = mixture.length;
  BlockSeparator separator(rep, parts, S, T, o.mask_exponent);

  eval::BssEvalOptions bss;
  bss.filter_length = o.filter_length;
  bss.compute_permutation = !o.known_assignment;
  std::unique_ptr<eval::BssEvalAccumulator> scores;
  std::unique_ptr<eval::FramewiseBssEval> framewise;
  if (!o.references.empty()) {
    scores = std::make_unique<eval::BssEvalAccumulator>(S, bss);
    if (o.eval_window > 0) {
      const double rate = mixture.sample_rate;
      framewise = std::make_unique<eval::FramewiseBssEval>(
          S, std::llround(o.eval_window * rate), std::llround((o.eval_hop > 0 ? o.eval_hop : o.eval_window) * rate), bss);
    }
  }

  // The S × count samples that just became final: to the sinks, then into the scores.
  const auto deliver = [&](const torch::Tensor& estimates) {
    const int64_t count = estimates.size(1);
    if (count == 0) return;
    const int64_t start = separator.emitted() - count;
    for (size_t s = 0; s < o.sources.size(); ++s) o.sources[s](estimates[static_cast<int64_t>(s)]);
    if (o.mixture) o.mixture(mixture.read(start, count));
    if (scores) {
      std::vector<torch::Tensor> refs;
      for (const BlockSource& r : o.references) refs.push_back(r.read(start, count));
      const torch::Tensor R = torch::stack(refs);
      scores->add(R, estimates);
      if (framewise) framewise->add(R, estimates);
    }
  };

  const int64_t N = rep.frame_count(T);
  const int64_t blocks = (N + o.block_frames - 1) / o.block_frames;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t n0 = b * o.block_frames, n1 = std::min(N, n0 + o.block_frames);
    deliver(separator.push(mixture.read(rep.first_sample(n0), rep.samples_for(n1 - n0))));
    if (o.progress) o.progress(b + 1, blocks);
  }
  deliver(separator.finish());

  StreamSeparation out;
  out.names = o.names;
  out.samples = separator.emitted();
  out.scored = scores != nullptr;
  if (scores) {
    out.metrics = scores->result();
    const std::vector<std::string>& ref_names = o.reference_names.empty() ? o.names : o.reference_names;
    out.table = eval::metrics_table(out.metrics, ref_names, o.names, bss);
    if (framewise) out.table.framewise = eval::framewise_scores(framewise->finish(), mixture.sample_rate);
  }
  return out;
}

}  // namespace factorch::separation
