#include "factorch/plot/figure.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/png.h"

namespace factorch::plot {

namespace {

constexpr const char* kFont = "DejaVu Sans";  // installed with Cairo's fontconfig on Debian
constexpr double kTitleSize = 17, kLabelSize = 14, kTickSize = 12.5;

// Colour-blind-safe categorical palette (Okabe–Ito, then a few more).
const double kPalette[][3] = {{0.00, 0.45, 0.70}, {0.90, 0.62, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.40, 0.00},
                              {0.80, 0.47, 0.65}, {0.34, 0.71, 0.91}, {0.45, 0.45, 0.45}, {0.94, 0.89, 0.26},
                              {0.55, 0.34, 0.29}, {0.10, 0.10, 0.10}};
constexpr int kPaletteSize = sizeof kPalette / sizeof kPalette[0];

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

struct Canvas {
  Surface surface;
  Context cr;
  Canvas(int w, int h)
      : surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h), cairo_surface_destroy),
        cr(cairo_create(surface.get()), cairo_destroy) {
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());
  }
  cairo_t* operator()() const { return cr.get(); }
};

// Plot area in pixels.
struct Rect {
  double x, y, w, h;
};

void require_size(const std::string& path, const Size& s) {
  require(s.width >= 200 && s.height >= 150 && s.width <= 8000 && s.height <= 8000,
          path + ": figure size " + std::to_string(s.width) + "x" + std::to_string(s.height) +
              " is outside 200x150 .. 8000x8000");
}

void write_png(const std::string& path, const Canvas& canvas) {
  cairo_surface_flush(canvas.surface.get());
  std::string bytes;
  const auto append = [](void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  };
  const cairo_status_t status = cairo_surface_write_to_png_stream(canvas.surface.get(), append, &bytes);
  require(status == CAIRO_STATUS_SUCCESS, path + ": cannot encode PNG: " + cairo_status_to_string(status));
  io::write_file_atomically(path, bytes);
}

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Draws s with its anchor at (x, y): ax/ay ∈ {0, 0.5, 1} = left/centre/right, top/middle/baseline-ish.
void text(cairo_t* cr, const std::string& s, double x, double y, double ax, double ay) {
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  const double w = text_width(cr, s);
  const double h = fe.ascent * 0.78;  // cap height is about 0.72–0.78 of the ascent
  // y: ay = 0 → the text hangs below y; 0.5 → centred on y; 1 → it sits on y.
  cairo_move_to(cr, x - ax * w, y + h * (1 - ay));
  cairo_show_text(cr, s.c_str());
}

void vertical_text(cairo_t* cr, const std::string& s, double x, double y) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, s, 0, 0, 0.5, 0.5);
  cairo_restore(cr);
}

// Maps a data value to a fraction [0, 1] of the axis.
double fraction(const Axis& a, double v) {
  if (a.log) return (std::log10(v) - std::log10(a.min)) / (std::log10(a.max) - std::log10(a.min));
  return (v - a.min) / (a.max - a.min);
}

double unfraction(const Axis& a, double t) {
  if (a.log) return std::pow(10.0, std::log10(a.min) + t * (std::log10(a.max) - std::log10(a.min)));
  return a.min + t * (a.max - a.min);
}

void check_axis(const std::string& path, const Axis& a, const char* which) {
  require(std::isfinite(a.min) && std::isfinite(a.max) && a.max > a.min,
          path + ": " + which + " axis limits must be finite with max > min");
  require(!a.log || a.min > 0, path + ": " + which + " axis is logarithmic and needs min > 0");
}

std::vector<std::pair<double, std::string>> ticks_of(const Axis& a, int target) {
  if (!a.ticks.empty()) return a.ticks;
  std::vector<std::pair<double, std::string>> out;
  if (a.log) {
    const int lo = static_cast<int>(std::floor(std::log10(a.min))), hi = static_cast<int>(std::ceil(std::log10(a.max)));
    const bool dense = 3 * (hi - lo) <= 2 * target;  // room for 2× and 5× ticks too
    for (int k = lo; k <= hi; ++k)
      for (const double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !dense) continue;
        const double v = m * std::pow(10.0, k);
        if (v >= a.min * (1 - 1e-9) && v <= a.max * (1 + 1e-9)) out.emplace_back(v, tick_label(v, v));
      }
    return out;
  }
  const std::vector<double> v = nice_ticks(a.min, a.max, target);
  const double step = v.size() > 1 ? v[1] - v[0] : std::abs(a.max - a.min);
  for (const double t : v) out.emplace_back(t, tick_label(t, step));
  return out;
}

void colour(cairo_t* cr, int index, double alpha = 1.0) {
  const double* c = kPalette[((index % kPaletteSize) + kPaletteSize) % kPaletteSize];
  cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha);
}

// Title, axis labels, ticks, grid and frame around `r`.
void draw_axes(cairo_t* cr, const Rect& r, const std::string& title, const Axis& x, const Axis& y, bool grid) {
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  set_font(cr, kTitleSize, true);
  text(cr, title, r.x + r.w / 2, 14, 0.5, 0);
  set_font(cr, kTickSize);
  const auto xt = ticks_of(x, std::max(3, static_cast<int>(r.w / 110)));
  const auto yt = ticks_of(y, std::max(3, static_cast<int>(r.h / 55)));
  double widest = 0;
  cairo_set_line_width(cr, 1);
  for (const auto& [v, s] : xt) {
    const double px = r.x + fraction(x, v) * r.w;
    if (grid) {
      cairo_set_source_rgba(cr, 0, 0, 0, 0.12);
      cairo_move_to(cr, std::round(px) + 0.5, r.y);
      cairo_line_to(cr, std::round(px) + 0.5, r.y + r.h);
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_move_to(cr, std::round(px) + 0.5, r.y + r.h);
    cairo_line_to(cr, std::round(px) + 0.5, r.y + r.h + 5);
    cairo_stroke(cr);
    text(cr, s, px, r.y + r.h + 9, 0.5, 0);
  }
  for (const auto& [v, s] : yt) {
    const double py = r.y + r.h - fraction(y, v) * r.h;
    if (grid) {
      cairo_set_source_rgba(cr, 0, 0, 0, 0.12);
      cairo_move_to(cr, r.x, std::round(py) + 0.5);
      cairo_line_to(cr, r.x + r.w, std::round(py) + 0.5);
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_move_to(cr, r.x - 5, std::round(py) + 0.5);
    cairo_line_to(cr, r.x, std::round(py) + 0.5);
    cairo_stroke(cr);
    text(cr, s, r.x - 8, py, 1, 0.5);
    widest = std::max(widest, text_width(cr, s));
  }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_rectangle(cr, std::round(r.x) + 0.5, std::round(r.y) + 0.5, std::round(r.w), std::round(r.h));
  cairo_stroke(cr);
  set_font(cr, kLabelSize);
  text(cr, x.label, r.x + r.w / 2, r.y + r.h + 32, 0.5, 0);
  vertical_text(cr, y.label, r.x - widest - 22, r.y + r.h / 2);
}

void draw_legend(cairo_t* cr, const Rect& r, const std::vector<std::string>& labels, const std::vector<int>& colours) {
  set_font(cr, kTickSize);
  double w = 0;
  for (const auto& l : labels) w = std::max(w, text_width(cr, l));
  const double line_h = 18, box_w = w + 40, box_h = line_h * labels.size() + 8;
  const double bx = r.x + r.w - box_w - 8, by = r.y + 8;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, bx, by, box_w, box_h);
  cairo_fill_preserve(cr);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.3);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (size_t i = 0; i < labels.size(); ++i) {
    const double cy = by + 4 + line_h * (i + 0.5);
    colour(cr, colours[i]);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, bx + 6, cy);
    cairo_line_to(cr, bx + 28, cy);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, labels[i], bx + 34, cy, 0, 0.5);
  }
}

double left_margin(const Axis& y, double h) {
  // Room for the widest tick label plus the rotated axis label.
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t* cr = cairo_create(s);
  set_font(cr, kTickSize);
  double widest = 0;
  for (const auto& t : ticks_of(y, std::max(3, static_cast<int>(h / 55)))) widest = std::max(widest, text_width(cr, t.second));
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return widest + 44;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return out;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw * 0.999) {
      step = m * mag;
      break;
    }
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

// 2.5×10⁻⁵: scientific notation that reads as such (DejaVu has the superscript digits).
std::string scientific(double value) {
  static const char* const sup[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  const int e = static_cast<int>(std::floor(std::log10(std::abs(value)) + 1e-9));
  const double m = value / std::pow(10.0, e);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", m);
  std::string out = std::abs(m - std::round(m)) < 1e-9 && std::abs(m) == 1 ? (m < 0 ? "−" : "") : std::string(buf) + "×";
  out += "10";
  if (e < 0) out += "⁻";
  for (const char d : std::to_string(std::abs(e))) out += sup[d - '0'];
  return out;
}

std::string tick_label(double value, double step) {
  char buf[32];
  if (std::abs(value) <= 1e-9 * std::abs(step)) value = 0;  // rounding residue of a zero tick
  const double a = std::abs(value);
  if (value != 0 && (a >= 1e5 || a < 1e-3)) return scientific(value);
  // Enough decimals to tell neighbouring ticks apart (0.25 → 2, 0.5 → 1, 1000 → 0).
  int decimals = 0;
  const double s = std::abs(step);
  while (s > 0 && decimals < 6) {
    const double scaled = s * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) <= 1e-6 * scaled) break;
    ++decimals;
  }
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string out = buf;
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  return out == "-0" ? "0" : out;
}

std::pair<Axis, double> frequency_axis(double lo_hz, double hi_hz, bool log) {
  Axis a;
  const bool khz = hi_hz >= 2000;
  const double scale = khz ? 1e-3 : 1.0;
  a.label = std::string("Frequency (") + (khz ? "kHz" : "Hz") + (log ? ", log scale)" : ")");
  a.min = lo_hz * scale;
  a.max = hi_hz * scale;
  a.log = log;
  return {a, scale};
}

void save_png(const std::string& path, const Heatmap& f) {
  require_size(path, f.size);
  check_axis(path, f.x, "x");
  check_axis(path, f.y, "y");
  require(f.values.defined() && f.values.dim() == 2 && f.values.numel() > 0,
          path + ": a heatmap needs a non-empty 2-D tensor");
  torch::Tensor v = f.values.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  require(torch::isfinite(v).all().item<bool>(), path + ": heatmap values must be finite");
  require(!f.rows_log || (f.y_lo > 0 && f.y_hi > f.y_lo), path + ": log-spaced rows need 0 < y_lo < y_hi");
  double lo, hi;
  if (f.db) {
    v = 10.0 * torch::log10(v.clamp_min(std::numeric_limits<double>::min()));
    hi = v.max().item<double>();
    lo = hi - f.db_range;
    v = v.clamp_min(lo);
  } else {
    lo = v.min().item<double>();
    hi = v.max().item<double>();
  }
  if (!(hi > lo)) hi = lo + 1;  // a constant image: one colour, still a valid colour bar
  const int64_t rows = v.size(0), cols = v.size(1);
  const auto acc = v.accessor<double, 2>();

  Canvas canvas(f.size.width, f.size.height);
  cairo_t* cr = canvas();
  const double left = left_margin(f.y, f.size.height - 100);
  const Rect r{left, 44, f.size.width - left - 130.0, f.size.height - 44 - 62.0};
  // Paint the image at the plot area's pixel resolution. Where several cells fall on one
  // pixel it shows their maximum, so that thin lines (harmonics) survive the reduction.
  const int pw = std::max(1, static_cast<int>(std::round(r.w))), ph = std::max(1, static_cast<int>(std::round(r.h)));
  Surface image(cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph), cairo_surface_destroy);
  cairo_surface_flush(image.get());
  unsigned char* data = cairo_image_surface_get_data(image.get());
  const int stride = cairo_image_surface_get_stride(image.get());
  // Cell range [first, last] under each pixel (edges mapped through the axes), -1 outside.
  const auto cell_range = [](double a, double b, int64_t n) {
    if (a > b) std::swap(a, b);
    auto first = static_cast<int64_t>(std::floor(a * n)), last = static_cast<int64_t>(std::ceil(b * n)) - 1;
    last = std::max(last, first);  // a pixel inside one cell
    if (last < 0 || first >= n) return std::pair<int64_t, int64_t>(-1, -1);
    return std::pair<int64_t, int64_t>(std::max<int64_t>(first, 0), std::min<int64_t>(last, n - 1));
  };
  const auto x_cell = [&](double t) { return (unfraction(f.x, t) - f.x_lo) / (f.x_hi - f.x_lo); };
  const auto y_cell = [&](double t) {
    const double yv = unfraction(f.y, t);
    return f.rows_log ? std::log(yv / f.y_lo) / std::log(f.y_hi / f.y_lo) : (yv - f.y_lo) / (f.y_hi - f.y_lo);
  };
  std::vector<std::pair<int64_t, int64_t>> col_range(pw);
  for (int px = 0; px < pw; ++px) col_range[px] = cell_range(x_cell(double(px) / pw), x_cell((px + 1.0) / pw), cols);
  std::vector<double> pooled(cols);
  for (int py = 0; py < ph; ++py) {
    const auto rr = cell_range(y_cell(1.0 - (py + 1.0) / ph), y_cell(1.0 - double(py) / ph), rows);
    auto* line = reinterpret_cast<uint32_t*>(data + py * stride);
    if (rr.first >= 0)
      for (int64_t c = 0; c < cols; ++c) {
        double m = acc[rr.first][c];
        for (int64_t row = rr.first + 1; row <= rr.second; ++row) m = std::max(m, acc[row][c]);
        pooled[c] = m;
      }
    for (int px = 0; px < pw; ++px) {
      const auto cr_ = col_range[px];
      uint32_t rgb = 0xF2F2F2;  // outside the data: light grey
      if (rr.first >= 0 && cr_.first >= 0) {
        double m = pooled[cr_.first];
        for (int64_t c = cr_.first + 1; c <= cr_.second; ++c) m = std::max(m, pooled[c]);
        const auto c = io::viridis((m - lo) / (hi - lo));
        rgb = (uint32_t(c[0]) << 16) | (uint32_t(c[1]) << 8) | c[2];
      }
      line[px] = rgb;
    }
  }
  cairo_surface_mark_dirty(image.get());
  cairo_set_source_surface(cr, image.get(), std::round(r.x), std::round(r.y));
  cairo_paint(cr);
  draw_axes(cr, r, f.title, f.x, f.y, false);

  // Colour bar with its own ticks and label.
  const Rect bar{r.x + r.w + 22, r.y, 18, r.h};
  cairo_pattern_t* gradient = cairo_pattern_create_linear(0, bar.y + bar.h, 0, bar.y);
  for (int i = 0; i <= 32; ++i) {
    const auto c = io::viridis(i / 32.0);
    cairo_pattern_add_color_stop_rgb(gradient, i / 32.0, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
  }
  cairo_rectangle(cr, bar.x, bar.y, bar.w, bar.h);
  cairo_set_source(cr, gradient);
  cairo_fill(cr);
  cairo_pattern_destroy(gradient);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, std::round(bar.x) + 0.5, std::round(bar.y) + 0.5, bar.w, std::round(bar.h));
  cairo_stroke(cr);
  Axis cb;
  cb.min = f.db ? -f.db_range : lo;
  cb.max = f.db ? 0 : hi;
  set_font(cr, kTickSize);
  double widest = 0;
  for (const auto& [t, s] : ticks_of(cb, 5)) {
    const double py = bar.y + bar.h - fraction(cb, t) * bar.h;
    cairo_move_to(cr, bar.x + bar.w, std::round(py) + 0.5);
    cairo_line_to(cr, bar.x + bar.w + 4, std::round(py) + 0.5);
    cairo_stroke(cr);
    text(cr, s, bar.x + bar.w + 7, py, 0, 0.5);
    widest = std::max(widest, text_width(cr, s));
  }
  set_font(cr, kLabelSize);
  vertical_text(cr, f.colorbar_label, bar.x + bar.w + widest + 22, bar.y + bar.h / 2);
  write_png(path, canvas);
}

void save_png(const std::string& path, const LinePlot& f) {
  require_size(path, f.size);
  check_axis(path, f.x, "x");
  check_axis(path, f.y, "y");
  Canvas canvas(f.size.width, f.size.height);
  cairo_t* cr = canvas();
  const double left = left_margin(f.y, f.size.height - 100);
  const Rect r{left, 44, f.size.width - left - 24.0, f.size.height - 44 - 62.0};
  draw_axes(cr, r, f.title, f.x, f.y, true);
  cairo_save(cr);
  cairo_rectangle(cr, r.x, r.y, r.w, r.h);
  cairo_clip(cr);
  std::vector<std::string> labels;
  std::vector<int> colours;
  for (size_t s = 0; s < f.series.size(); ++s) {
    const Series& se = f.series[s];
    require(se.x.size() == se.y.size(), path + ": series '" + se.label + "' has " + std::to_string(se.x.size()) +
                                            " x values but " + std::to_string(se.y.size()) + " y values");
    const int c = se.colour >= 0 ? se.colour : static_cast<int>(s);
    const auto point = [&](size_t i, double& px, double& py) {
      const bool ok = std::isfinite(se.x[i]) && std::isfinite(se.y[i]) && (!f.x.log || se.x[i] > 0) &&
                      (!f.y.log || se.y[i] > 0);
      px = r.x + fraction(f.x, se.x[i]) * r.w;
      py = r.y + r.h - fraction(f.y, se.y[i]) * r.h;
      return ok;
    };
    colour(cr, c);
    if (se.line) {
      cairo_set_line_width(cr, 2);
      cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
      bool pen = false;
      for (size_t i = 0; i < se.x.size(); ++i) {
        double px, py;
        if (!point(i, px, py)) {
          pen = false;
          continue;
        }
        if (pen) cairo_line_to(cr, px, py); else cairo_move_to(cr, px, py);
        pen = true;
      }
      cairo_stroke(cr);
    }
    if (se.markers) {
      for (size_t i = 0; i < se.x.size(); ++i) {
        double px, py;
        if (!point(i, px, py)) continue;
        cairo_arc(cr, px, py, se.line ? 2.2 : 3.0, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    }
    if (!se.label.empty()) {
      labels.push_back(se.label);
      colours.push_back(c);
    }
  }
  cairo_restore(cr);
  if (!labels.empty()) draw_legend(cr, r, labels, colours);
  write_png(path, canvas);
}

void save_png(const std::string& path, const BarChart& f) {
  require_size(path, f.size);
  require(!f.categories.empty() && !f.values.empty(), path + ": a bar chart needs categories and values");
  require(f.series_labels.size() == f.values.size(), path + ": one label per bar series is needed");
  double lo = 0, hi = 0;
  for (const auto& s : f.values) {
    require(s.size() == f.categories.size(), path + ": every bar series needs one value per category");
    for (const double v : s)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  Axis y = f.y;
  if (!(y.max > y.min)) {
    const auto t = nice_ticks(lo, hi > lo ? hi : lo + 1, 5);
    const double step = t.size() > 1 ? t[1] - t[0] : 1;
    y.min = lo < 0 ? std::floor(lo / step) * step : 0;
    const double headroom = hi + 0.3 * (hi - lo);  // room for the value labels and the legend
    y.max = std::ceil(headroom / step) * step;
    if (!(y.max > y.min)) y.max = y.min + 1;
  }
  Axis x;
  x.min = 0;
  x.max = static_cast<double>(f.categories.size());
  for (size_t i = 0; i < f.categories.size(); ++i) x.ticks.emplace_back(i + 0.5, f.categories[i]);
  Canvas canvas(f.size.width, f.size.height);
  cairo_t* cr = canvas();
  const double left = left_margin(y, f.size.height - 100);
  const Rect r{left, 44, f.size.width - left - 24.0, f.size.height - 44 - 62.0};
  draw_axes(cr, r, f.title, x, y, true);
  const size_t S = f.values.size();
  const double group_w = r.w / f.categories.size(), bar_w = group_w * 0.8 / S;
  const double zero = r.y + r.h - fraction(y, std::clamp(0.0, y.min, y.max)) * r.h;
  set_font(cr, 11);
  for (size_t s = 0; s < S; ++s)
    for (size_t i = 0; i < f.categories.size(); ++i) {
      const double v = f.values[s][i];
      if (!std::isfinite(v)) continue;
      const double bx = r.x + group_w * (i + 0.1) + bar_w * s;
      const double top = r.y + r.h - fraction(y, std::clamp(v, y.min, y.max)) * r.h;
      colour(cr, static_cast<int>(s));
      cairo_rectangle(cr, bx + 1, std::min(top, zero), bar_w - 2, std::abs(zero - top));
      cairo_fill(cr);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", v);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      if (bar_w >= 26) text(cr, buf, bx + bar_w / 2, v >= 0 ? top - 3 : top + 3, 0.5, v >= 0 ? 1 : 0);
    }
  std::vector<int> colours;
  for (size_t s = 0; s < S; ++s) colours.push_back(static_cast<int>(s));
  draw_legend(cr, r, f.series_labels, colours);
  write_png(path, canvas);
}

}  // namespace factorch::plot
