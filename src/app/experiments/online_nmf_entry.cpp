// model.type: online_nmf — mini-batch β-NMF streamed from a large .npy or from many WAV files.
#include <algorithm>
#include <filesystem>

#include "app/audio_data.h"
#include "app/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/io/npy_columns.h"
#include "factorch/io/wav.h"
#include "factorch/models/online_nmf.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kModel = {"online_nmf"};

void add_keys(ConfigSchema& s) {
  s.add("model.rank", KeyType::Integer, "number of components K").def("8").at_least(1).for_models(kModel);
  s.add("model.beta", KeyType::Beta, "β of the divergence: euclidean (2), kl (1), is (0) or any number").def("1")
      .for_models(kModel);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence").def("0.0").at_least(0)
      .for_models(kModel);
  s.add("model.forget", KeyType::Number, "forget factor of W's statistics per pass over the data (scikit-learn's "
        "forget_factor; each batch of B of the N training columns scales the past by forget^(B/N); 1: nothing "
        "forgotten). Passes over a finite data set want a short memory: on the tests' data (11 batches per pass, "
        "60 passes) the mini-batch objective is 0.975× the full-batch one with the default 1e-4, 1.23× with 1e-3, "
        "2.5× with 0.01 and 32× with scikit-learn's 0.7, which averages stale dictionaries. Raise it only for a "
        "single pass over a stream, and watch the held-back objective")
      .def("1.0e-4").above(0).at_most(1).for_models(kModel);
  s.add("model.inner_iter", KeyType::Integer, "MU steps of each batch's activations per batch").def("20").at_least(1)
      .for_models(kModel);
  s.add("data.batch_size", KeyType::Integer, "columns (frames) per mini-batch; only one batch (or one WAV file's "
        "spectrogram) is in memory at a time").def("256").at_least(1).for_models(kModel);
  s.add("data.holdout_every", KeyType::Integer, "every k-th batch is held back: the reported objective is on those "
        "columns").def("10").at_least(2).for_models(kModel);
  s.add("data.holdout_max_columns", KeyType::Integer, "cap of the held-back set: once the held-back batches hold this "
        "many columns (the last one may overshoot), every later batch trains; 0: no cap. The held-back objective is "
        "streamed batch by batch, so memory does not depend on it; the cap bounds the time of each evaluation "
        "(2·inner_iter MU steps per held-back column)").def("50000").at_least(0).for_models(kModel);
  s.add("model.batches_per_step", KeyType::Integer, "training batches per update of W (their statistics are summed, "
        "all fitted with the same W). A data-parallel run of R ranks makes steps of R times this many batches, one "
        "rank reading every R-th batch: it equals a single-process run with R times this value").def("1").at_least(1)
      .for_models(kModel);
}

// Spectrogram columns of WAV files, one file in memory at a time (batches end at file ends).
class WavStream : public ColumnStream {
 public:
  WavStream(std::vector<std::string> files, const Config& c) : files_(std::move(files)), rep_(c) {
    io::ReadOptions r;
    r.downmix = c.boolean("data.downmix");
    if (c.has("data.channel")) r.channel = static_cast<int>(c.integer("data.channel"));
    r.require_mono = !r.downmix && !r.channel;
    read_ = r;
    load(0);
    rows_ = current_.size(0);
  }
  int64_t rows() const override { return rows_; }
  void rewind() override {
    if (file_ != 0) load(0);
    col_ = 0;
  }
  torch::Tensor next(int64_t max_columns) override {
    while (col_ >= current_.size(1)) {
      if (file_ + 1 >= files_.size()) return {};
      load(file_ + 1);
    }
    const int64_t n = std::min(max_columns, current_.size(1) - col_);
    torch::Tensor out = current_.slice(1, col_, col_ + n);
    col_ += n;
    return out;
  }

 private:
  void load(size_t f) {
    const io::Audio a = io::read_wav(files_[f], read_);
    if (rate_ == 0) rate_ = a.sample_rate;
    require(a.sample_rate == rate_, files_[f] + ": sample rate " + std::to_string(a.sample_rate) + " Hz differs from " +
                                        std::to_string(rate_) + " Hz of " + files_[0]);
    current_ = rep_.nonnegative(rep_.analyse(a.samples[0])).to(torch::kFloat64);
    require(rows_ == 0 || current_.size(0) == rows_, files_[f] + ": spectrogram rows differ");
    note_columns(current_.size(1));
    file_ = f;
    col_ = 0;
  }
  std::vector<std::string> files_;
  app::AudioRepresentation rep_;
  io::ReadOptions read_;
  torch::Tensor current_;
  size_t file_ = 0;
  int64_t col_ = 0, rows_ = 0;
  int rate_ = 0;
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

app::Dataset load_data(const Config& c) {
  auto part = std::make_shared<OnlineData>();
  part->stream = open_stream(c);
  part->summary = scan(c, *part->stream, 0, 1);
  return make_dataset(part);
}

// This rank's batches of a .npy (online_nmf.h: training batch t and held-back batch j belong
// to rank t mod R and j mod R); the other batches are skipped unread.
app::Dataset load_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  require(comm != nullptr, "online_nmf load_shard: no communicator");
  const std::vector<std::string> inputs = c.has("data.input") ? c.strings("data.input") : std::vector<std::string>{};
  if (inputs.size() != 1 || fs::path(inputs[0]).extension() != ".npy")
    c.fail("data.input", "must be one .npy matrix for data-parallel online_nmf (WAV input is not sharded yet)");
  auto part = std::make_shared<OnlineData>();
  part->stream = open_stream(c);
  const int64_t columns = io::NpyColumnReader(inputs[0]).cols();  // open_stream read its header already
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
  app::ColumnShard shard;
  shard.total = columns;
  shard.rank = comm->rank();
  shard.world_size = comm->world_size();
  app::Dataset d = make_dataset(part);
  app::attach_shard(d.matrix, shard, comm);
  return d;
}

std::shared_ptr<FactorModelImpl> build(const Config& c, const app::Dataset& data) {
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
          add_keys, build, load_data, {}, {}, {true, true, false, true}, {}, load_shard};
}

}  // namespace factorch
