#include "factorch/io/png.h"

#include <algorithm>
#include <cmath>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::io {

namespace {

constexpr int64_t kMaxSide = 1 << 15;

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  return table;
}

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string typed(type, 4);
  typed += data;
  out += typed;
  put_u32(out, crc32(reinterpret_cast<const uint8_t*>(typed.data()), typed.size()));
}

// zlib stream of stored deflate blocks (≤ 65535 bytes each) + Adler-32 of the raw bytes.
std::string zlib_stored(const std::string& raw) {
  std::string out;
  out.push_back(static_cast<char>(0x78));  // CMF: deflate, 32K window
  out.push_back(static_cast<char>(0x01));  // FLG: no dict, fastest; (0x7801 % 31 == 0)
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    out.push_back(static_cast<char>(last ? 1 : 0));  // BFINAL, BTYPE = 00 (stored)
    out.push_back(static_cast<char>(n & 0xFF));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xFF));
    out.push_back(static_cast<char>((~n >> 8) & 0xFF));
    out.append(raw, pos, n);
    pos += n;
  } while (pos < raw.size());
  put_u32(out, adler32(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
  return out;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  const auto& t = crc_table();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = t[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler) {
  uint32_t a = adler & 0xFFFF, b = adler >> 16;
  for (size_t i = 0; i < size; ++i) {
    a = (a + data[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  return (b << 16) | a;
}

std::array<uint8_t, 3> viridis(double t) {
  // Anchors sampled from matplotlib's viridis at t = 0, 0.25, 0.5, 0.75, 1.
  static const double anchors[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  if (!std::isfinite(t)) t = 0.0;
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  const double u = t - i;
  std::array<uint8_t, 3> c{};
  for (int ch = 0; ch < 3; ++ch)
    c[ch] = static_cast<uint8_t>(std::lround(anchors[i][ch] * (1 - u) + anchors[i + 1][ch] * u));
  return c;
}

std::string png_bytes(const torch::Tensor& rgb) {
  require(rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == torch::kUInt8,
          "PNG image must be a uint8 height x width x 3 tensor");
  const int64_t h = rgb.size(0), w = rgb.size(1);
  require(h > 0 && w > 0 && h <= kMaxSide && w <= kMaxSide,
          "PNG image must have 1.." + std::to_string(kMaxSide) + " rows and columns, got " + std::to_string(h) + "x" +
              std::to_string(w));
  const torch::Tensor px = rgb.to(torch::kCPU).contiguous();
  const uint8_t* p = px.data_ptr<uint8_t>();

  std::string raw;
  raw.reserve(static_cast<size_t>(h * (3 * w + 1)));
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back(0);  // filter type: none
    raw.append(reinterpret_cast<const char*>(p + y * w * 3), static_cast<size_t>(w * 3));
  }

  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(w));
  put_u32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bit, RGB, deflate, adaptive filter, no interlace
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", zlib_stored(raw));
  put_chunk(out, "IEND", "");
  return out;
}

void write_png_rgb(const std::string& path, const torch::Tensor& rgb) {
  std::string bytes;
  try {
    bytes = png_bytes(rgb);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  write_file_atomically(path, bytes);
}

void write_png_heatmap(const std::string& path, const torch::Tensor& image2d, bool log_scale) {
  require(image2d.defined() && image2d.dim() == 2 && image2d.numel() > 0,
          path + ": heatmap needs a nonempty 2-D tensor");
  torch::Tensor v = image2d.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  require(v.isfinite().all().item<bool>(), path + ": heatmap values must be finite");
  if (log_scale) {
    const double peak = v.max().item<double>();
    const double floor = peak > 0 ? peak * 1e-8 : 1.0;  // 80 dB below the maximum
    v = 10.0 * torch::log10(v.clamp_min(floor));
  }
  const double lo = v.min().item<double>(), hi = v.max().item<double>();
  const torch::Tensor t = hi > lo ? (v - lo) / (hi - lo) : torch::zeros_like(v);
  const int64_t h = v.size(0), w = v.size(1);
  require(h <= kMaxSide && w <= kMaxSide, path + ": heatmap larger than " + std::to_string(kMaxSide) + " pixels");
  torch::Tensor rgb = torch::empty({h, w, 3}, torch::kUInt8);
  uint8_t* out = rgb.data_ptr<uint8_t>();
  const double* in = t.data_ptr<double>();
  for (int64_t i = 0; i < h * w; ++i) {
    const auto c = viridis(in[i]);
    out[3 * i] = c[0];
    out[3 * i + 1] = c[1];
    out[3 * i + 2] = c[2];
  }
  write_png_rgb(path, rgb);
}

}  // namespace factorch::io
