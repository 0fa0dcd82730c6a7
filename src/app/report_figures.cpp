// Figures of the run report, drawn from the files of a run directory (see app/report.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "app/report.h"
#include "report_inputs.h"
#include "app/json_file.h"
#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/npy_columns.h"
#include "factorch/io/wav.h"
#include "factorch/plot/figure.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/stft.h"

namespace factorch::app {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxSpectrograms = 12;  // a page, not an archive: dlnmf writes 12 sources

torch::Tensor load(const fs::path& p) { return io::load_npy(p.string()).to(torch::kFloat64); }

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Where the rows of a factor lie in frequency, when known.
struct FrequencyRows {
  bool known = false;
  double lo = 0, hi = 1;  // extent of the rows (first row's lower edge, last row's upper edge)
  bool log_rows = false;  // constant-Q rows (uniform in log f)
  std::string label;      // when not known: what the rows are
};

struct Context {
  RunInputs in;
  bool log_frequency = false;
  std::vector<ReportFigure> figures;
  fs::path dir() const { return in.dir; }
  void add(const std::string& name, const std::string& caption) { figures.push_back({"figures/" + name, caption}); }
  std::string path(const std::string& name) const { return (in.dir / "figures" / name).string(); }
  fs::path factor_file(const std::string& name) const { return in.dir / "factors" / (name + ".npy"); }
  /// The factor described as the whole dictionary, or else the first layer of a product
  /// dictionary: its rows are the rows of V (nullptr when the run has none).
  const FactorDescription* dictionary_rows() const {
    if (const FactorDescription* d = whole_factor(in.factors, FactorRole::Dictionary)) return d;
    const auto layers = dictionary_layers(in.factors);
    return layers.empty() ? nullptr : layers.front();
  }
};

// Frequency axis (view) for data up to hi_hz, honouring the log option.
std::pair<plot::Axis, double> freq_view(double df, double top_hz, bool log) {
  const double lo = log ? std::max(20.0, df) : 0.0;
  return plot::frequency_axis(lo, top_hz, log);
}

// Rows of V and of the dictionary: the grid the model names for its dictionary's rows (iN-NMF:
// the training frequencies in Hz), or its label for them (TL-NMF: atoms), or the bins of the
// representation.
FrequencyRows rows_of(const Context& c, int64_t F) {
  FrequencyRows r;
  const RunInputs& in = c.in;
  const FactorDescription* dict = c.dictionary_rows();
  const fs::path freqs = dict && !dict->grid.empty() ? c.factor_file(dict->grid) : fs::path();
  if (!freqs.empty() && fs::exists(freqs)) {
    const std::vector<double> f = to_vector(load(freqs));
    if (static_cast<int64_t>(f.size()) == F && F >= 2 && f.front() >= 0 && f.back() > f.front()) {
      r.known = true;
      const double ratio = f[1] > 0 ? f[2 % F] / f[1] : 0, step = f[1] - f[0];
      r.log_rows = f.front() > 0 && F > 2 && std::abs(f[2] - f[1] - step) > 1e-6 * step && ratio > 1;
      if (r.log_rows) {
        const double g = std::pow(f.back() / f.front(), 1.0 / (F - 1));
        r.lo = f.front() / std::sqrt(g);
        r.hi = f.back() * std::sqrt(g);
      } else {
        r.lo = f.front() - step / 2;
        r.hi = f.back() + step / 2;
      }
      return r;
    }
  }
  if (dict && !dict->axis.empty()) {
    r.label = dict->axis;
    return r;
  }
  if (in.sample_rate && in.n_fft) {
    const double sr = *in.sample_rate;
    if (F == *in.n_fft / 2 + 1) {
      const double df = sr / *in.n_fft;
      r.known = true;
      r.lo = -df / 2;
      r.hi = (F - 0.5) * df;
      return r;
    }
    if (F == *in.n_fft && in.representation == "dct_power") {  // DCT-II bin k at (k + ½)·fs/(2M)
      r.known = true;
      r.lo = 0;
      r.hi = sr / 2;
      return r;
    }
  }
  r.label = "Frequency bin";
  return r;
}

// y axis and heatmap rows for a frequency × something matrix.
void frequency_rows(const Context& c, int64_t F, plot::Heatmap& h, double& scale) {
  const FrequencyRows r = rows_of(c, F);
  scale = 1;
  if (!r.known) {
    h.y.label = r.label;
    h.y.min = h.y_lo = 0;
    h.y.max = h.y_hi = static_cast<double>(F);
    return;
  }
  const bool log = c.log_frequency || r.log_rows;
  const double lo = log ? std::max(r.lo, r.log_rows ? r.lo : std::max(20.0, (r.hi - r.lo) / F)) : std::max(0.0, r.lo);
  auto [axis, s] = plot::frequency_axis(lo, r.hi, log);
  scale = s;
  h.y = axis;
  h.y_lo = r.lo * s;
  h.y_hi = r.hi * s;
  h.rows_log = r.log_rows;
}

// x axis over frames: seconds when the hop and rate are known.
void time_columns(const Context& c, int64_t N, plot::Heatmap& h) {
  // The grid the model names for its activations' columns (iN-NMF: times in s).
  const FactorDescription* act = whole_factor(c.in.factors, FactorRole::Activations);
  const fs::path times = act && !act->grid.empty() ? c.factor_file(act->grid) : fs::path();
  if (!times.empty() && fs::exists(times)) {
    const std::vector<double> t = to_vector(load(times));
    if (static_cast<int64_t>(t.size()) == N && N >= 2 && t.back() > t.front()) {
      const double dt = (t.back() - t.front()) / (N - 1);
      h.x.label = "Time (s)";
      h.x_lo = t.front() - dt / 2;
      h.x_hi = t.back() + dt / 2;
      h.x.min = std::max(0.0, h.x_lo);
      h.x.max = h.x_hi;
      return;
    }
  }
  if (c.in.sample_rate && c.in.hop) {
    h.x.label = "Time (s)";
    h.x_lo = h.x.min = 0;
    h.x_hi = h.x.max = N * static_cast<double>(*c.in.hop) / *c.in.sample_rate;
    return;
  }
  h.x.label = "Frame";
  h.x_lo = h.x.min = 0;
  h.x_hi = h.x.max = static_cast<double>(N);
}

// Component index axis: one tick per component when there are few.
plot::Axis component_axis(int64_t K, const std::string& label) {
  plot::Axis a;
  a.label = label;
  a.min = 0;
  a.max = static_cast<double>(K);
  if (K <= 24)
    for (int64_t k = 0; k < K; k += (K > 12 ? 2 : 1)) a.ticks.emplace_back(k + 0.5, std::to_string(k));
  return a;
}

// Spectrogram of a WAV (power of the channels' mean STFT power).
void spectrogram_figure(Context& c, const AudioItem& item, const std::string& name) {
  const io::Audio a = io::read_wav(item.path.string());
  const double sr = a.sample_rate;
  signal::StftOptions o;
  o.n_fft = c.in.n_fft.value_or(1024);
  if (o.n_fft > a.frames()) o.n_fft = std::max<int64_t>(2, a.frames());
  o.hop = std::max<int64_t>(1, o.n_fft / 4);
  torch::Tensor P;
  for (int64_t ch = 0; ch < a.samples.size(0); ++ch) {
    const torch::Tensor p = signal::power(signal::stft(a.samples[ch], o));
    P = P.defined() ? P + p : p;
  }
  P = P / static_cast<double>(a.samples.size(0));
  plot::Heatmap h;
  h.title = "Spectrogram: " + (item.mixture.empty() ? item.label : item.mixture + ", " + item.label);
  h.values = P;
  const double df = sr / o.n_fft;
  const bool log = c.log_frequency;
  auto [axis, s] = freq_view(df, sr / 2, log);
  h.y = axis;
  h.y_lo = -df / 2 * s;
  h.y_hi = (P.size(0) - 0.5) * df * s;
  h.x.label = "Time (s)";
  h.x_lo = h.x.min = 0;
  h.x_hi = h.x.max = static_cast<double>(a.frames()) / sr;
  h.colorbar_label = "Power (dB re max)";
  plot::save_png(c.path(name), h);
  c.add(name, "Power spectrogram of " + item.path.lexically_relative(c.in.dir).string() + " (STFT " +
                  std::to_string(o.n_fft) + " points, hop " + std::to_string(o.hop) + ", 80 dB range).");
}

// V as drawn: a wide V is read block by block and pooled to at most kMaxColumns columns
// (means of w consecutive columns): the image has fewer pixels than that, and the V of a long
// run (online_nmf streams .npy files of any size) must not be loaded whole for a picture.
// Undefined when V is not a nonnegative finite float matrix (no figure then).
torch::Tensor pooled_input(const fs::path& path, int64_t* columns, int64_t* width) {
  constexpr int64_t kMaxColumns = 2048, kBlock = 8192;
  try {
    io::NpyColumnReader reader(path.string());
    const int64_t N = reader.cols(), w = (N + kMaxColumns - 1) / kMaxColumns;
    const int64_t per_block = std::max<int64_t>(1, kBlock / w) * w;
    std::vector<torch::Tensor> groups;
    for (int64_t start = 0; start < N; start += per_block) {
      const torch::Tensor X = reader.read(start, per_block);
      if ((X < 0).any().item<bool>() || !torch::isfinite(X).all().item<bool>()) return {};
      for (int64_t g = 0; g < X.size(1); g += w) groups.push_back(X.slice(1, g, g + w).mean(1, true));
    }
    *columns = N;
    *width = w;
    return groups.empty() ? torch::Tensor() : torch::cat(groups, 1);
  } catch (const Error&) {
    return {};
  }
}

// The input as the figure draws it, kept in the run directory: figures/input.npy (the
// column means, float32) and figures/input.json (data.input, its column count, the width of
// the means). data.input is relative to the working directory of the run, so only the
// report at the end of the run reads it; `factorch report` draws from the kept copy and
// gives the same page from any working directory (and after V has moved).
struct DrawnInput {
  torch::Tensor V;  // float64, as drawn
  int64_t columns = 0, width = 1;
};

std::optional<DrawnInput> kept_input(const Context& c) {
  const fs::path npy = c.in.dir / "figures" / "input.npy", meta = c.in.dir / "figures" / "input.json";
  if (!fs::is_regular_file(npy) || !fs::is_regular_file(meta)) return std::nullopt;
  const nlohmann::ordered_json j = read_json_file(meta);
  if (!j.is_object() || j.value("input", std::string()) != c.in.input_npy->string() || !j.contains("columns") ||
      !j["columns"].is_number_integer() || !j.contains("width") || !j["width"].is_number_integer())
    return std::nullopt;  // another run's copy: not this input
  return DrawnInput{load(npy), j["columns"].get<int64_t>(), j["width"].get<int64_t>()};
}

std::optional<DrawnInput> read_and_keep_input(const Context& c) {
  const fs::path npy = c.in.dir / "figures" / "input.npy", meta = c.in.dir / "figures" / "input.json";
  fs::remove(npy);
  fs::remove(meta);
  if (!fs::is_regular_file(*c.in.input_npy)) return std::nullopt;
  DrawnInput d;
  const torch::Tensor V = pooled_input(*c.in.input_npy, &d.columns, &d.width);
  if (!V.defined() || V.numel() == 0) return std::nullopt;
  // Drawn from the float32 copy that is kept, so that a rebuild draws the same pixels.
  const torch::Tensor kept = V.to(torch::kFloat32).contiguous();
  d.V = kept.to(torch::kFloat64);
  fs::create_directories(npy.parent_path());
  io::save_npy(npy.string(), kept);
  nlohmann::ordered_json j;
  j["input"] = c.in.input_npy->string();
  j["columns"] = d.columns;
  j["width"] = d.width;
  io::write_file_atomically(meta.string(), j.dump(2) + "\n");
  return d;
}

void input_matrix_figure(Context& c, bool rebuild) {
  if (!c.in.input_npy) return;
  std::optional<DrawnInput> d = rebuild ? kept_input(c) : std::nullopt;
  if (!d) d = read_and_keep_input(c);
  if (!d) return;
  const int64_t N = d->columns, w = d->width;
  const torch::Tensor& V = d->V;
  plot::Heatmap h;
  h.title = "Input V (" + std::to_string(V.size(0)) + " × " + std::to_string(N) + ")";
  h.values = V;
  double scale;
  frequency_rows(c, V.size(0), h, scale);
  time_columns(c, N, h);
  h.colorbar_label = "10·log10 V (dB re max)";
  plot::save_png(c.path("input.png"), h);
  c.add("input.png", "The input matrix V = " + c.in.input_npy->string() + " (rows bottom to top" +
                         (w > 1 ? ", means of " + std::to_string(w) + " columns" : std::string()) + ").");
}

// " (what the model says it is)", or "" when it says nothing.
std::string meaning_note(const FactorDescription& d) { return d.meaning.empty() ? "" : " (" + d.meaning + ")"; }

struct Dictionary {
  torch::Tensor W;
  std::string name;     // W, or W1·W2·… for a product
  std::string meaning;  // of the whole dictionary, or "product of the layers' dictionaries"
};

// The dictionary the model describes: one factor, or the product W1·…·WL of the layers of a
// layered model (as far as their shapes chain).
std::optional<Dictionary> dictionary(const Context& c) {
  const FactorDescription* whole = whole_factor(c.in.factors, FactorRole::Dictionary);
  if (whole && whole->plot == FactorPlot::Image && fs::exists(c.factor_file(whole->name)))
    return Dictionary{load(c.factor_file(whole->name)), whole->name, whole->meaning};
  const auto layers = dictionary_layers(c.in.factors);
  if (whole || layers.empty() || layers.front()->plot != FactorPlot::Image || !fs::exists(c.factor_file(layers.front()->name)))
    return std::nullopt;
  Dictionary d{load(c.factor_file(layers.front()->name)), layers.front()->name, ""};
  for (size_t l = 1; l < layers.size() && fs::exists(c.factor_file(layers[l]->name)); ++l) {
    const torch::Tensor next = load(c.factor_file(layers[l]->name));
    if (next.dim() != 2 || next.size(0) != d.W.size(1)) break;
    d.W = torch::mm(d.W, next);
    d.name += "·" + layers[l]->name;
  }
  if (layers.size() > 1) d.meaning = "product of the layers' dictionaries";
  return d;
}

void factor_figures(Context& c) {
  const auto dict = dictionary(c);
  const double p = c.in.power_exponent;
  const std::string power_note = p == 1 ? "" : " (raised to " + plot::tick_label(p, 0.001) + " to show power)";
  if (dict && dict->W.dim() == 2 && dict->W.numel() > 0) {
    const torch::Tensor W = dict->W.clamp_min(0);
    plot::Heatmap h;
    h.title = "Dictionary " + dict->name + ": one column per component";
    h.values = W.pow(p);
    double scale;
    frequency_rows(c, W.size(0), h, scale);
    h.x = component_axis(W.size(1), "Component");
    h.x_lo = 0;
    h.x_hi = static_cast<double>(W.size(1));
    h.size = {900, 460};
    h.colorbar_label = "dB re max";
    plot::save_png(c.path("W.png"), h);
    c.add("W.png", "Spectral templates: column k of " + dict->name +
                       (dict->meaning.empty() ? "" : " (" + dict->meaning + ")") + power_note + ", in dB.");
  }
  const FactorDescription* act = whole_factor(c.in.factors, FactorRole::Activations);
  if (act && act->plot == FactorPlot::Image && fs::exists(c.factor_file(act->name))) {
    const torch::Tensor H = load(c.factor_file(act->name)).clamp_min(0);
    if (H.dim() == 2 && H.numel() > 0) {
      plot::Heatmap h;
      h.title = "Activations " + act->name + ": one row per component";
      h.values = H.pow(p);
      time_columns(c, H.size(1), h);
      h.y = component_axis(H.size(0), "Component");
      h.y_lo = 0;
      h.y_hi = static_cast<double>(H.size(0));
      h.size = {900, std::clamp<int>(static_cast<int>(150 + 22 * H.size(0)), 300, 460)};
      h.colorbar_label = "dB re max";
      plot::save_png(c.path("H.png"), h);
      c.add("H.png", "Activation of each component over time" + meaning_note(*act) + power_note + ", in dB.");
    }
  }
}

void objective_figure(Context& c) {
  const fs::path p = c.in.dir / "history.csv";
  if (!fs::exists(p)) return;
  std::ifstream in(p);
  std::string line;
  plot::Series s;
  std::getline(in, line);  // header: iter,objective,rel_change,seconds
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string it, obj;
    if (!std::getline(ss, it, ',') || !std::getline(ss, obj, ',')) continue;
    try {
      const double x = std::stod(it), y = std::stod(obj);
      if (std::isfinite(x) && std::isfinite(y)) {
        s.x.push_back(x);
        s.y.push_back(y);
      }
    } catch (const std::exception&) {
      throw Error(p.string() + ": cannot read the line '" + line + "'");
    }
  }
  if (s.x.empty()) return;
  s.markers = s.x.size() <= 40;
  plot::LinePlot f;
  f.title = "Training objective";
  const auto [xlo, xhi] = std::minmax_element(s.x.begin(), s.x.end());
  const auto [ylo, yhi] = std::minmax_element(s.y.begin(), s.y.end());
  f.x.label = "Iteration";
  f.x.min = *xlo;
  f.x.max = *xhi > *xlo ? *xhi : *xlo + 1;
  f.y.label = "Objective";
  f.y.log = *ylo > 0 && *yhi / *ylo > 20;
  if (f.y.log) {
    f.y.min = *ylo / 1.3;
    f.y.max = *yhi * 1.3;
    f.y.label = "Objective (log scale)";
  } else {
    const double pad = (*yhi - *ylo) * 0.05 + (*yhi == *ylo ? std::abs(*yhi) * 0.05 + 1e-12 : 0);
    f.y.min = *ylo - pad;
    f.y.max = *yhi + pad;
  }
  f.series.push_back(std::move(s));
  f.size = {900, 380};
  plot::save_png(c.path("objective.png"), f);
  c.add("objective.png", "Objective (divergence + penalties) over the iterations, from history.csv.");
}

// A factor drawn as atoms (TL-NMF's Φ): its most energetic rows (the first ones) and their
// power spectra.
void atom_figures(Context& c) {
  const auto described = std::find_if(c.in.factors.begin(), c.in.factors.end(),
                                       [](const FactorDescription& d) { return d.plot == FactorPlot::Atoms; });
  if (described == c.in.factors.end()) return;
  const fs::path p = c.factor_file(described->name);
  if (!fs::exists(p)) return;
  const torch::Tensor Phi = load(p);
  if (Phi.dim() != 2 || Phi.size(0) == 0) return;
  const int64_t M = Phi.size(1), n = std::min<int64_t>(kShownAtoms, Phi.size(0));
  const double sr = c.in.sample_rate.value_or(0);
  plot::LinePlot atoms;
  atoms.title = "Learnt atoms (rows of " + described->name + ", most energetic at the top)";
  atoms.x.label = sr > 0 ? "Time within the frame (ms)" : "Sample within the frame";
  atoms.x.min = 0;
  atoms.x.max = sr > 0 ? 1000.0 * (M - 1) / sr : static_cast<double>(M - 1);
  atoms.y.label = "Atom";
  atoms.y.min = -0.7;
  atoms.y.max = n - 0.3;
  plot::LinePlot spectra;
  spectra.title = "Power spectra of the atoms";
  const int64_t nfft = std::max<int64_t>(4096, 2 * M);
  const torch::Tensor S = torch::fft_rfft(Phi.narrow(0, 0, n), nfft, 1).abs().square();
  const torch::Tensor Sdb = 10 * torch::log10(S / S.max().clamp_min(1e-300)).clamp_min(-60.0);
  const double top = sr > 0 ? sr / 2 : 0.5;
  auto [faxis, scale] = plot::frequency_axis(0, top, false);
  if (sr <= 0) faxis.label = "Normalised frequency (cycles per sample)";
  spectra.x = faxis;
  spectra.y.label = "Power (dB re max)";
  spectra.y.min = -60;
  spectra.y.max = 3;
  for (int64_t k = 0; k < n; ++k) {
    plot::Series a;
    const torch::Tensor row = Phi[k];
    const double peak = row.abs().max().item<double>();
    const std::vector<double> v = to_vector(row);
    for (int64_t m = 0; m < M; ++m) {
      a.x.push_back(sr > 0 ? 1000.0 * m / sr : static_cast<double>(m));
      a.y.push_back((n - 1 - k) + 0.45 * v[m] / (peak > 0 ? peak : 1));
    }
    a.colour = static_cast<int>(k);
    atoms.y.ticks.emplace_back(static_cast<double>(n - 1 - k), std::to_string(k));
    atoms.series.push_back(std::move(a));
    plot::Series s;
    const std::vector<double> db = to_vector(Sdb[k]);
    const int64_t argmax = Sdb[k].argmax().item<int64_t>();
    for (size_t i = 0; i < db.size(); ++i) {
      s.x.push_back(static_cast<double>(i) / nfft * (sr > 0 ? sr : 1.0) * scale);
      s.y.push_back(db[i]);
    }
    char label[64];
    std::snprintf(label, sizeof label, "atom %lld (peak %.1f Hz)", static_cast<long long>(k),
                  static_cast<double>(argmax) / nfft * (sr > 0 ? sr : 1.0));
    s.label = label;
    s.colour = static_cast<int>(k);
    spectra.series.push_back(std::move(s));
  }
  atoms.size = {900, 460};
  spectra.size = {900, 420};
  plot::save_png(c.path("atoms.png"), atoms);
  c.add("atoms.png", "The " + std::to_string(n) + " most energetic learnt atoms, each scaled to its peak.");
  plot::save_png(c.path("atom_spectra.png"), spectra);
  c.add("atom_spectra.png", "Power spectrum of each atom (zero-padded FFT), with its peak frequency.");
}

// iN-NMF: continuous templates W_k(f) on a fine grid, dots where they were trained.
void implicit_templates_figure(Context& c) {
  const fs::path d = c.in.dir / "dictionary";
  const fs::path wf = d / "W_fine.npy", ff = d / "frequencies_fine.npy";
  if (!fs::exists(wf) || !fs::exists(ff)) return;
  const torch::Tensor W = load(wf);
  const std::vector<double> f = to_vector(load(ff));
  if (W.dim() != 2 || W.size(0) != static_cast<int64_t>(f.size()) || f.size() < 2) return;
  torch::Tensor Wt;
  std::vector<double> ft;
  // The trained dictionary on the grid the model names for its rows.
  const FactorDescription* dict = whole_factor(c.in.factors, FactorRole::Dictionary);
  if (dict && !dict->grid.empty() && fs::exists(c.factor_file(dict->name)) && fs::exists(c.factor_file(dict->grid))) {
    Wt = load(c.factor_file(dict->name));
    ft = to_vector(load(c.factor_file(dict->grid)));
    if (Wt.dim() != 2 || Wt.size(0) != static_cast<int64_t>(ft.size()) || Wt.size(1) != W.size(1)) Wt = torch::Tensor();
  }
  const int64_t K = W.size(1);
  const bool log = c.log_frequency || c.in.representation == "cqt";
  const double lo = log ? std::max(f.front(), 20.0) : f.front();
  auto [axis, scale] = plot::frequency_axis(lo, f.back(), log);
  plot::LinePlot p;
  p.title = "Implicit templates W_k(f): curves on a fine grid, dots at the training frequencies";
  p.x = axis;
  p.y.label = "Component (each scaled to its maximum)";
  p.y.min = -0.15;
  p.y.max = K + 0.05;
  for (int64_t k = 0; k < K; ++k) {
    const double peak = std::max(1e-300, W.select(1, k).max().item<double>());
    plot::Series s;
    const std::vector<double> v = to_vector(W.select(1, k));
    for (size_t i = 0; i < f.size(); ++i) {
      s.x.push_back(f[i] * scale);
      s.y.push_back(k + 0.9 * v[i] / peak);
    }
    s.colour = static_cast<int>(k);
    p.series.push_back(std::move(s));
    p.y.ticks.emplace_back(static_cast<double>(k), std::to_string(k));
    if (Wt.defined()) {
      plot::Series t;
      const std::vector<double> vt = to_vector(Wt.select(1, k));
      for (size_t i = 0; i < ft.size(); ++i) {
        t.x.push_back(ft[i] * scale);
        t.y.push_back(k + 0.9 * vt[i] / peak);
      }
      t.line = false;
      t.markers = true;
      t.colour = static_cast<int>(k);
      p.series.push_back(std::move(t));
    }
  }
  p.size = {900, std::clamp<int>(static_cast<int>(200 + 70 * K), 360, 720)};
  plot::save_png(c.path("templates.png"), p);
  c.add("templates.png", "W_k(f) evaluated on " + std::to_string(f.size()) + " frequencies" +
                             (Wt.defined() ? "; dots: the " + std::to_string(ft.size()) + " training frequencies" : "") +
                             ".");
}

// SDR bars per method and source from metrics.json: the run and its named baselines (schema
// of factorch/eval/metrics_table.h), or a comparison table in its "details" (DL-NMF's: rows
// of method, layers, source, sdr, ...), which keeps the paper's row order.
void score_table_figure(Context& c) {
  const fs::path p = c.in.dir / "metrics.json";
  if (!fs::exists(p)) return;
  const nlohmann::ordered_json root = read_json_file(p);
  if (!root.is_object()) return;
  plot::BarChart b;
  b.y.label = "SDR (dB)";
  // method → (source → SDR), in order.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, double>>>> methods;
  const auto sdr_of = [](const nlohmann::ordered_json& v) { return json_number(v).value_or(std::nan("")); };
  const auto text_of = [](const nlohmann::ordered_json& row, const char* key) {
    if (!row.contains(key)) return std::string();
    return row[key].is_string() ? row[key].get<std::string>() : row[key].dump();
  };
  const nlohmann::ordered_json* comparison = nullptr;
  if (root.contains("details") && root["details"].is_object() && root["details"].contains("comparison") &&
      root["details"]["comparison"].is_object() && root["details"]["comparison"].contains("rows"))
    comparison = &root["details"]["comparison"]["rows"];
  if (comparison) {
    if (!comparison->is_array() || comparison->empty()) return;
    b.title = "Test SDR per method (mean over the test mixtures)";
    for (const auto& row : *comparison) {
      if (!row.is_object() || !row.contains("sdr") || !row.contains("source")) return;
      std::string cat = row.contains("method") ? text_of(row, "method") : "?";
      if (row.contains("layers")) cat += " [" + text_of(row, "layers") + "]";
      if (methods.empty() || methods.back().first != cat) methods.push_back({cat, {}});
      methods.back().second.emplace_back(text_of(row, "source"), sdr_of(row["sdr"]));
    }
  } else if (root.contains("baselines") && root["baselines"].is_object() && root.contains("sources")) {
    b.title = "SDR of the run and its baselines";
    const auto add = [&](const std::string& name, const nlohmann::ordered_json& run) {
      if (!run.contains("sources") || !run["sources"].is_array()) return;
      methods.push_back({name, {}});
      for (const auto& row : run["sources"])
        if (row.is_object() && row.contains("name") && row["name"].is_string() && row.contains("sdr"))
          methods.back().second.emplace_back(row["name"].get<std::string>(), sdr_of(row["sdr"]));
      if (run.contains("mean") && run["mean"].contains("sdr")) methods.back().second.emplace_back("mean", sdr_of(run["mean"]["sdr"]));
    };
    add(c.in.model_type.empty() ? "this run" : c.in.model_type, root);
    for (const auto& kv : root["baselines"].items()) add(kv.key(), kv.value());
  } else {
    return;
  }
  if (methods.empty() || methods.front().second.empty()) return;
  for (const auto& m : methods) b.categories.push_back(m.first);
  for (const auto& kv : methods.front().second) b.series_labels.push_back(kv.first);
  b.values.assign(b.series_labels.size(), std::vector<double>(b.categories.size(), std::nan("")));
  for (size_t i = 0; i < methods.size(); ++i)
    for (size_t s = 0; s < b.series_labels.size(); ++s)
      for (const auto& kv : methods[i].second)
        if (kv.first == b.series_labels[s]) b.values[s][i] = kv.second;
  b.size = {std::clamp<int>(static_cast<int>(220 + 110 * b.categories.size()), 700, 1400), 440};
  plot::save_png(c.path("scores.png"), b);
  c.add("scores.png", "SDR of each method and source from metrics.json, with the mean over sources.");
}

// Figures of an older report must not linger, but figures/ may hold a user's files (factorch
// eval writes its report next to its metrics.json): only the names drawn here are removed.
void remove_old_figures(const fs::path& folder) {
  if (!fs::is_directory(folder)) return;
  static const std::vector<std::string> names = {"input.png", "W.png", "H.png", "objective.png", "atoms.png",
                                                 "atom_spectra.png", "templates.png", "scores.png"};
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string n = e.path().filename().string();
    if (std::find(names.begin(), names.end(), n) != names.end() ||
        (n.rfind("spectrogram_", 0) == 0 && e.path().extension() == ".png"))
      fs::remove(e.path());
  }
}

}  // namespace

std::vector<ReportFigure> write_report_figures(const std::string& run_dir, const ReportOptions& options) {
  Context c;
  c.in = read_run_inputs(run_dir);
  c.log_frequency = options.log_frequency.value_or(c.in.log_frequency);
  remove_old_figures(c.in.dir / "figures");
  // Spectrograms of the mixture and the separated sources; of the components when a run
  // has no sources (nmf_audio: they are its separation).
  const bool has_sources = std::any_of(c.in.audio.begin(), c.in.audio.end(), [](const AudioItem& a) {
    return a.group != "components" && a.group != "mixture";
  });
  size_t spectrograms = 0;
  for (const AudioItem& a : c.in.audio) {
    if ((a.group == "components" && has_sources) || spectrograms >= kMaxSpectrograms) continue;
    spectrogram_figure(c, a, "spectrogram_" + std::to_string(spectrograms++) + ".png");
  }
  if (spectrograms == 0) input_matrix_figure(c, options.rebuild);
  factor_figures(c);
  atom_figures(c);
  implicit_templates_figure(c);
  score_table_figure(c);
  objective_figure(c);
  return c.figures;
}

}  // namespace factorch::app
