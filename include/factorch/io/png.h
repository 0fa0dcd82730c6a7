#pragma once
// A small dependency-free PNG writer for pictures of spectrograms and factors.
// 8-bit RGB, no interlace; the zlib stream uses stored (uncompressed) deflate blocks, so
// files are about 3·W·H bytes — fine for figures, and nothing to link. CRC-32 and Adler-32
// are computed here. Files are written atomically (io::write_atomically).
#include <array>
#include <cstdint>
#include <string>

#include <torch/types.h>

namespace factorch::io {

/// Writes a 2-D tensor (rows top→bottom as given, any dtype/device, finite values) as a
/// heatmap with a viridis-like colormap scaled from its min (dark) to its max (bright).
/// log_scale: the picture shows 10·log10(value), clipped 80 dB below the maximum (negative or
/// zero values map to the floor). Throws factorch::Error naming `path` for a non-2-D or empty
/// tensor, non-finite values, or more than 2^15 rows/columns.
void write_png_heatmap(const std::string& path, const torch::Tensor& image2d, bool log_scale);

/// Writes an RGB image: uint8 tensor height × width × 3 (CPU or not). Throws on other shapes.
void write_png_rgb(const std::string& path, const torch::Tensor& rgb);

/// The PNG file bytes for an RGB uint8 image (height × width × 3, contiguous on the CPU).
std::string png_bytes(const torch::Tensor& rgb);

/// Viridis-like colour of t ∈ [0, 1] (piecewise-linear through a few anchor colours).
std::array<uint8_t, 3> viridis(double t);

/// CRC-32 (ISO-HDLC, as PNG) and Adler-32 (as zlib), exposed for tests.
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);
uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler = 1);

}  // namespace factorch::io
