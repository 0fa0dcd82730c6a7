// separation::separate_stream (factorch/separation/separate_stream.h): a short synthetic
// mixture streamed block by block (blocks of one frame, of a few frames, one block) gives
// separate()'s estimates on the whole signal, the mixture back in step, and the scores of
// bss_eval_sources (and bss_eval_sources_framewise) on the whole signal; bad arguments throw
// before any block is read.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "../test_support.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/bss_streaming.h"
#include "factorch/models/nmf.h"
#include "factorch/separation/separate.h"
#include "factorch/separation/separate_stream.h"
#include "factorch/signal/synthetic.h"

using namespace factorch;

namespace {

constexpr int kRate = 8000;
constexpr int64_t kLength = 6000;  // 0.75 s

struct Session {
  torch::Tensor low, high, mixture;
  std::vector<torch::Tensor> dictionaries;  // 3 components per source
};

// Two harmonic notes that take turns and overlap; each source's dictionary: 3 columns of the
// magnitude spectrogram of its own clean note (the test needs a fixed dictionary, not a good one).
Session session(const separation::Representation& rep) {
  Session s;
  signal::Envelope first{{{0, 2 * kLength / 3}}, 64}, last{{{kLength / 3, kLength}}, 64};
  s.low = signal::harmonic_source(330, kRate, kLength, 3, 0.6, first, 1);
  s.high = signal::harmonic_source(523, kRate, kLength, 3, 0.6, last, 2);
  s.mixture = s.low + s.high;
  for (const torch::Tensor& source : {s.low, s.high}) {
    const torch::Tensor V = rep.nonnegative(rep.analyse(source));
    s.dictionaries.push_back(torch::stack({V.select(1, 10), V.select(1, 30), V.select(1, 50)}, 1) + 1e-3);
  }
  return s;
}

// Parts W_s H_s with H fitted on the fixed dictionaries (NMF's fit_activations: per-column
// start, 40 KL sweeps), so that any split of the frames gives the same parts.
separation::SourceParts nmf_parts(const std::vector<torch::Tensor>& dictionaries) {
  const torch::Tensor W = torch::cat(dictionaries, 1);
  return [dictionaries, W](const torch::Tensor& V) {
    NMF nmf(NMFOptions(W.size(0), V.size(1), W.size(1)).beta(1).eps(1e-9).fixed_w(true));
    return separation::dictionary_parts(dictionaries, nmf->fit_activations(W, V, 40));
  };
}

double max_relative(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

double max_score_error(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

// Streamed = separate() on the whole signal. Estimates within 1e-10 relative (MU on column
// blocks of other sizes: BLAS rounding only). Scores measured ≤ 8.1e-6 dB from
// bss_eval_sources on the whole estimates (the accumulator's energies are differences of
// quadratic forms; SIRs near 35 dB lose digits there); bound 1e-4 dB.
TEST(SeparateStream, BlocksEqualTheWholeSignal) {
  for (const auto padding : {signal::FramePadding::Zero, signal::FramePadding::None}) {
    separation::RepresentationOptions ro;
    ro.stft.n_fft = 256, ro.stft.hop = 64, ro.stft.padding = padding, ro.exponent = 1;
    const separation::Representation rep(ro);
    const Session s = session(rep);
    const separation::SourceParts parts = nmf_parts(s.dictionaries);
    const torch::Tensor references = torch::stack({s.low, s.high});

    separation::SeparateOptions whole_options;
    whole_options.names = {"low", "high"};
    whole_options.references = references;
    const separation::Separation whole = separation::separate(s.mixture, rep, parts, whole_options);
    ASSERT_TRUE(whole.scored);
    const int64_t N = rep.frame_count(kLength);

    for (const int64_t block : {int64_t{1}, int64_t{7}, N + 5}) {
      SCOPED_TRACE("padding " + std::to_string(static_cast<int>(padding)) + ", block_frames " + std::to_string(block));
      std::vector<torch::Tensor> low, high, mixture;
      int64_t largest_read = 0, progress_calls = 0, last_done = 0;
      separation::BlockSource source = separation::tensor_source(s.mixture, kRate);
      const auto read_whole = source.read;
      source.read = [&](int64_t start, int64_t count) {
        largest_read = std::max(largest_read, count);
        return read_whole(start, count);
      };
      separation::StreamOptions o;
      o.names = {"low", "high"};
      o.block_frames = block;
      o.references = {separation::tensor_source(s.low, kRate), separation::tensor_source(s.high, kRate)};
      o.eval_window = 0.125;
      o.sources = {[&](const torch::Tensor& x) { low.push_back(x); }, [&](const torch::Tensor& x) { high.push_back(x); }};
      o.mixture = [&](const torch::Tensor& x) { mixture.push_back(x); };
      o.progress = [&](int64_t done, int64_t blocks) {
        ++progress_calls, last_done = done;
        EXPECT_EQ(blocks, (N + block - 1) / block);
      };
      const separation::StreamSeparation r = separation::separate_stream(source, rep, parts, o);

      EXPECT_EQ(r.samples, kLength);
      EXPECT_EQ(progress_calls, (N + block - 1) / block);
      EXPECT_EQ(last_done, progress_calls);
      // Memory bounded by the block: no read longer than one block's frames.
      EXPECT_LE(largest_read, rep.samples_for(std::min(block, N)));
      const torch::Tensor estimates = torch::stack({torch::cat(low), torch::cat(high)});
      ASSERT_EQ(estimates.size(1), kLength);
      EXPECT_LT(max_relative(estimates, whole.mixture.estimates), 1e-10);
      EXPECT_TRUE(torch::equal(torch::cat(mixture), s.mixture));

      ASSERT_TRUE(r.scored);
      eval::BssEvalOptions bss;
      bss.compute_permutation = false;
      const eval::BssEvalResult direct = eval::bss_eval_sources(references, estimates, bss);
      EXPECT_LT(max_score_error(r.metrics.sdr, direct.sdr), 1e-4);
      EXPECT_LT(max_score_error(r.metrics.sir, direct.sir), 1e-4);
      EXPECT_LT(max_score_error(r.metrics.sar, direct.sar), 1e-4);
      ASSERT_EQ(r.table.names, (std::vector<std::string>{"low", "high"}));
      for (size_t j = 0; j < 2; ++j) {
        EXPECT_NEAR(r.table.sdr[j], whole.table.sdr[j], 1e-4) << j;
        EXPECT_NEAR(r.table.sir[j], whole.table.sir[j], 1e-4) << j;
        EXPECT_NEAR(r.table.sar[j], whole.table.sar[j], 1e-4) << j;
      }
      // It separates (a floor only: the crude dictionaries are not the point here).
      EXPECT_GT(r.table.sdr[0], 5.0);
      EXPECT_GT(r.table.sdr[1], 5.0);

      // Framewise: 0.125 s windows (1000 samples), ⌊(6000 − 1000 + 1000)/1000⌋ = 6 frames.
      const eval::FramewiseBssEvalResult frames = eval::bss_eval_sources_framewise(references, estimates, 1000, 1000, bss);
      ASSERT_EQ(r.table.framewise.sdr.size(), 2u);
      ASSERT_EQ(r.table.framewise.sdr[0].size(), 6u);
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t f = 0; f < 6; ++f) {
          const double expected = frames.sdr[j][f].item<double>();
          if (std::isnan(expected)) {
            EXPECT_TRUE(std::isnan(r.table.framewise.sdr[j][f])) << j << " " << f;
          } else {
            EXPECT_NEAR(r.table.framewise.sdr[j][f], expected, 1e-4) << j << " " << f;
          }
        }
    }
  }
}

// Bad arguments: a factorch::Error naming the signal concept, before any block is read.
TEST(SeparateStream, BadArgumentsThrowBeforeReading) {
  separation::RepresentationOptions ro;
  ro.stft.n_fft = 256, ro.stft.hop = 64;
  const separation::Representation rep(ro);
  const torch::Tensor x = torch::randn({2000}, torch::kFloat64);
  int64_t reads = 0;
  separation::BlockSource mixture = separation::tensor_source(x, kRate);
  const auto read = mixture.read;
  mixture.read = [&](int64_t start, int64_t count) {
    ++reads;
    return read(start, count);
  };
  const separation::SourceParts parts = [](const torch::Tensor& V) { return std::vector<torch::Tensor>{V, V}; };
  const auto valid = [] {
    separation::StreamOptions o;
    o.names = {"a", "b"};
    o.block_frames = 4;
    return o;
  };
  const auto error = [&](const separation::StreamOptions& o, const separation::BlockSource& m) {
    return testkit::error_of([&] { separation::separate_stream(m, rep, parts, o); });
  };

  separation::StreamOptions o = valid();
  o.names.clear();
  EXPECT_EQ(error(o, mixture), "separate_stream: no source names (they give the number of sources)");
  o = valid();
  o.block_frames = 0;
  EXPECT_EQ(error(o, mixture), "separate_stream: block_frames must be >= 1, not 0");
  o = valid();
  EXPECT_EQ(error(o, separation::tensor_source(x.slice(0, 0, 100), kRate)),
            "separate_stream: the mixture has 100 samples, shorter than one frame (256)");
  o.sources = {[](const torch::Tensor&) {}};
  EXPECT_EQ(error(o, mixture), "separate_stream: 1 source sinks for 2 sources");
  o = valid();
  o.references = {separation::tensor_source(x, kRate), separation::tensor_source(x.slice(0, 0, 1999), kRate)};
  EXPECT_EQ(error(o, mixture), "separate_stream: reference 2 has 1999 samples but the mixture has 2000");
  o.references = {separation::tensor_source(x, kRate), separation::tensor_source(x, 16000)};
  EXPECT_EQ(error(o, mixture), "separate_stream: reference 2 has sample rate 16000 Hz but the mixture 8000 Hz");
  o.references = {separation::tensor_source(x, kRate)};
  EXPECT_EQ(error(o, mixture), "separate_stream: 1 references for 2 sources");
  o = valid();
  o.references = {separation::tensor_source(x), separation::tensor_source(x)};
  o.eval_window = 0.1;
  EXPECT_EQ(error(o, separation::tensor_source(x)),
            "separate_stream: framewise scores (eval_window) need the mixture's sample rate");
  EXPECT_EQ(reads, 0);
}
