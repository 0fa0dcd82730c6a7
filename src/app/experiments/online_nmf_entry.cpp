// model.type: online_nmf — mini-batch β-NMF streamed from a large .npy or from many WAV files.
#include <algorithm>
#include <filesystem>

#include "app/audio_data.h"
#include "app/audio_shard.h"
#include "app/column_shard.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/io/npy_columns.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/models/online_nmf.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kOnlineModel = {"online_nmf"};

void add_online_keys(ConfigSchema& s) {
  s.add("model.rank", KeyType::Integer, "number of components K").def("8").at_least(1).for_models(kOnlineModel);
  s.add("model.beta", KeyType::Beta, "β of the divergence: euclidean (2), kl (1), is (0) or any number").def("1")
      .for_models(kOnlineModel);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence").def("0.0").at_least(0)
      .for_models(kOnlineModel);
  s.add("model.forget", KeyType::Number, "forget factor of W's statistics per pass over the data (scikit-learn's "
        "forget_factor; each batch of B of the N training columns scales the past by forget^(B/N); 1: nothing "
        "forgotten). Passes over a finite data set want a short memory: on the tests' data (11 batches per pass, "
        "60 passes) the mini-batch objective is 0.975× the full-batch one with the default 1e-4, 1.23× with 1e-3, "
        "2.5× with 0.01 and 32× with scikit-learn's 0.7, which averages stale dictionaries. Raise it only for a "
        "single pass over a stream, and watch the held-back objective")
      .def("1.0e-4").above(0).at_most(1).for_models(kOnlineModel);
  s.add("model.inner_iter", KeyType::Integer, "MU steps of each batch's activations per batch").def("20").at_least(1)
      .for_models(kOnlineModel);
  s.add("data.batch_size", KeyType::Integer, "columns (frames) per mini-batch (with WAV files, a batch ends at the end of a "
        "file); only one batch is in memory at a time").def("256").at_least(1).for_models(kOnlineModel);
  s.add("data.holdout_every", KeyType::Integer, "every k-th batch is held back: the reported objective is on those "
        "columns").def("10").at_least(2).for_models(kOnlineModel);
  s.add("data.holdout_max_columns", KeyType::Integer, "cap of the held-back set: once the held-back batches hold this "
        "many columns (the last one may overshoot), every later batch trains; 0: no cap. The held-back objective is "
        "streamed batch by batch, so memory does not depend on it; the cap bounds the time of each evaluation "
        "(2·inner_iter MU steps per held-back column)").def("50000").at_least(0).for_models(kOnlineModel);
  s.add("model.batches_per_step", KeyType::Integer, "training batches per update of W (their statistics are summed, "
        "all fitted with the same W). A data-parallel run of R ranks makes steps of R times this many batches, one "
        "rank reading every R-th batch: it equals a single-process run with R times this value").def("1").at_least(1)
      .for_models(kOnlineModel);
}

// Spectrogram columns of WAV files, batch by batch: a batch's columns are computed from only
// the samples under its frames (app/audio_shard.h: the same columns as analysing the whole
// file), so one batch is in memory at a time, and skip() moves past a batch without reading
// it (a data-parallel rank skips the other ranks' batches). Batches end at file ends. The
// headers are read up front: rates and channels are checked before any column is computed.
class WavStream : public ColumnStream {
 public:
  WavStream(std::vector<std::string> files, const Config& c) : files_(std::move(files)), rep_(c) {
    // The one rule of the data block: data.channel / data.downmix pick from multichannel files,
    // mono files are read as they are.
    read_ = app::mono_read_options(c);
    io::AudioInfo first;
    for (size_t f = 0; f < files_.size(); ++f) {
      const io::AudioInfo info = io::read_wav_info(files_[f]);
      if (f == 0) first = info;
      require(info.sample_rate == first.sample_rate, files_[f] + ": sample rate " + std::to_string(info.sample_rate) +
                                                         " Hz differs from " + std::to_string(first.sample_rate) +
                                                         " Hz of " + files_[0]);
      require(info.frames >= rep_.frame_length(), files_[f] + ": has " + std::to_string(info.frames) +
                                                      " samples, fewer than one frame (" +
                                                      std::to_string(rep_.frame_length()) + ")");
      io::channels_read(info.channels, read_, files_[f]);
      frames_.push_back(signal::frame_count(info.frames, rep_.frame_length(), rep_.hop()));
      columns_ += frames_.back();
    }
    rows_ = read(0, 0, 1).size(0);
  }
  int64_t rows() const override { return rows_; }
  /// Columns of the whole stream (every file's frames).
  int64_t columns() const { return columns_; }
  void rewind() override { file_ = 0, col_ = 0; }
  torch::Tensor next(int64_t max_columns) override {
    const int64_t n = advance(max_columns);
    return n == 0 ? torch::Tensor() : read(file_, col_ - n, col_);
  }
  int64_t skip(int64_t max_columns) override { return advance(max_columns); }

 private:
  // Moves past the next ≤ max_columns columns of the current file; how many (0 at the end).
  int64_t advance(int64_t max_columns) {
    while (file_ < files_.size() && col_ >= frames_[file_]) ++file_, col_ = 0;
    if (file_ >= files_.size()) return 0;
    const int64_t n = std::min(max_columns, frames_[file_] - col_);
    col_ += n;
    return n;
  }
  torch::Tensor read(size_t f, int64_t begin, int64_t end) {
    distributed::ColumnShard frames;
    frames.begin = begin, frames.end = end, frames.total = frames_[f];
    const torch::Tensor segment = app::read_frame_segment(files_[f], read_, frames, rep_.frame_length(), rep_.hop())[0];
    torch::Tensor X = rep_.nonnegative(rep_.analyse_unpadded(segment)).to(torch::kFloat64);
    require(rows_ == 0 || X.size(0) == rows_, files_[f] + ": spectrogram rows differ");
    note_columns(X.size(1));
    return X;
  }
  std::vector<std::string> files_;
  app::AudioRepresentation rep_;
  io::ReadOptions read_;
  std::vector<int64_t> frames_;  ///< columns of each file
  int64_t columns_ = 0, rows_ = 0;
  size_t file_ = 0;  ///< position: column col_ of file file_
  int64_t col_ = 0;
};

std::shared_ptr<ColumnStream> open_stream(const Config& c) {
  if (!c.has("data.input")) c.fail("data.input", "is required: a .npy matrix, a WAV file or a directory of WAV files");
  for (const char* k : {"data.synthetic", "data.references", "data.train"})
    if (c.has(k)) c.fail(k, "is not used by online_nmf (it streams data.input)");
  const std::vector<std::string> inputs = c.strings("data.input");
  try {
    if (inputs.size() == 1 && fs::path(inputs[0]).extension() == ".npy") return npy_column_stream(inputs[0]);
    return std::make_shared<WavStream>(app::resolve_audio_paths(c, "data.input", inputs), c);
  } catch (const Error& e) {
    if (std::string(e.what()).rfind(c.where("data.input"), 0) == 0) throw;
    c.fail("data.input", std::string("cannot be streamed: ") + e.what());
  }
}

OnlineNMFOptions options_from(const Config& c, int64_t rows) {
  OnlineNMFOptions o(rows, c.integer("model.rank"));
  o.beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  o.batch_size(c.integer("data.batch_size")).holdout_every(c.integer("data.holdout_every"));
  o.holdout_max_columns(c.integer("data.holdout_max_columns")).batches_per_step(c.integer("model.batches_per_step"));
  o.forget(c.number("model.forget")).inner_iter(c.integer("model.inner_iter"));
  return o;
}

// The run's data: the stream and one pass over it (counts, held-back mean, domain checks —
// bad files are found before anything is written). TrainingData::X has no columns: the
// model streams the held-back batches itself (online_nmf.h).
struct OnlineData : app::DatasetPart {
  std::shared_ptr<ColumnStream> stream;
  StreamSummary summary;  ///< held_sum: over every rank
};

app::Dataset make_dataset(std::shared_ptr<OnlineData> part) {
  app::Dataset d;
  d.matrix.X = torch::zeros({part->summary.rows, 0}, torch::kFloat64);
  d.part = std::move(part);
  return d;
}

// scan_stream with its errors reported against the config keys.
StreamSummary scan(const Config& c, ColumnStream& stream, int rank, int world_size) {
  try {
    return scan_stream(stream, options_from(c, stream.rows()), rank, world_size);
  } catch (const Error& e) {
    const std::string why = e.what();
    for (const char* key : {"batch_size", "holdout_max_columns"})
      if (why.rfind(key, 0) == 0) c.fail(std::string("data.") + key, why.substr(why.find(' ') + 1));
    if (why.rfind("no held-back", 0) == 0 || why.rfind("no training batch", 0) == 0)
      c.fail("data.holdout_every", "leaves no usable batch: " + why);
    c.fail("data.input", "cannot be streamed: " + why);
  }
}

app::Dataset load_online_data(const Config& c) {
  auto part = std::make_shared<OnlineData>();
  part->stream = open_stream(c);
  part->summary = scan(c, *part->stream, 0, 1);
  return make_dataset(part);
}

// This rank's batches of a .npy or of WAV files (online_nmf.h: training batch t and held-back
// batch j belong to rank t mod R and j mod R); the other batches are skipped unread.
app::Dataset load_online_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  require(comm != nullptr, "online_nmf load_shard: no communicator");
  auto part = std::make_shared<OnlineData>();
  part->stream = open_stream(c);
  const auto* wav = dynamic_cast<const WavStream*>(part->stream.get());
  // A .npy's header was read by open_stream already.
  const int64_t columns = wav ? wav->columns() : io::NpyColumnReader(c.strings("data.input")[0]).cols();
  comm->require_same("shapes of data.input", std::to_string(part->stream->rows()) + "x" + std::to_string(columns));
  // A rank that finds bad data in its batches must not leave the others waiting in the
  // all-reduce: the failure is summed with the held-back sum, then reported.
  std::string failure;
  try {
    part->summary = scan(c, *part->stream, comm->rank(), comm->world_size());
  } catch (const Error& e) {
    failure = e.what();
  }
  torch::Tensor sums = torch::tensor({part->summary.held_sum, failure.empty() ? 0.0 : 1.0}, torch::kFloat64);
  comm->all_reduce_sum(sums);
  if (!failure.empty()) throw Error(failure);
  if (sums[1].item<double>() > 0) c.fail("data.input", "another rank found bad data in its batches (see its error)");
  part->summary.held_sum = sums[0].item<double>();
  // No per-column tensor and no contiguous column range: the shard only carries the sums.
  distributed::ColumnShard shard;
  shard.total = columns;
  shard.rank = comm->rank();
  shard.world_size = comm->world_size();
  app::Dataset d = make_dataset(part);
  distributed::attach_shard(d.matrix, shard, comm);
  return d;
}

std::shared_ptr<FactorModelImpl> build_online(const Config& c, const app::Dataset& data) {
  const auto& part = data.get<OnlineData>();
  OnlineNMFOptions o = options_from(c, part.stream->rows());
  o.train_columns(part.summary.train_columns);
  auto model = std::make_shared<OnlineNMFImpl>(o, part.stream);
  const double mean = part.summary.held_sum / (static_cast<double>(part.summary.held_columns) * part.summary.rows);
  model->init(mean, static_cast<uint64_t>(c.integer("model.seed")));
  return model;
}

}  // namespace

ModelEntry online_nmf_entry() {
  return {"online_nmf",
          "mini-batch β-NMF: W learnt from column batches streamed from a large .npy or many WAV files; objective on "
          "held-back batches",
          add_online_keys, build_online, load_online_data, {}, {}, {true, true, false, true}, {}, load_online_shard};
}

}  // namespace factorch
