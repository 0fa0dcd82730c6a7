#pragma once
// Test helper: a PNG's pixels read back through cairo, to check what a figure draws.
#include <cairo.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace factorch::testkit {

struct Png {
  int width = 0, height = 0;
  std::vector<uint32_t> rgb;  // 0xRRGGBB per pixel, row-major from the top
};

/// The pixels of `path`; width 0 when it cannot be read as a PNG.
inline Png read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  Png p;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(s);
    p.width = cairo_image_surface_get_width(s);
    p.height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x) p.rgb.push_back(reinterpret_cast<const uint32_t*>(data + y * stride)[x] & 0xFFFFFF);
  }
  cairo_surface_destroy(s);
  return p;
}

/// How many pixels have each colour.
inline std::map<uint32_t, int64_t> colour_counts(const Png& png) {
  std::map<uint32_t, int64_t> out;
  for (uint32_t c : png.rgb) ++out[c];
  return out;
}

/// Pixels that are neither white, black nor grey (r = g = b): the data a figure draws, not its
/// frame, text and background.
inline int64_t coloured_pixels(const Png& png) {
  int64_t n = 0;
  for (uint32_t c : png.rgb) n += !((c >> 16) == ((c >> 8) & 0xFF) && ((c >> 8) & 0xFF) == (c & 0xFF));
  return n;
}

}  // namespace factorch::testkit
