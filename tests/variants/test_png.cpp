// PNG writer: chunk structure and CRCs decoded here; pixels read back with Python's zlib.
#include <gtest/gtest.h>

#include <filesystem>

#include "../test_support.h"
#include "factorch/error.h"
#include "factorch/io/png.h"

using namespace factorch;

namespace {
uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}
}  // namespace

TEST(Png, ChecksumsMatchKnownValues) {
  const std::string s = "123456789";
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  EXPECT_EQ(io::crc32(p, s.size()), 0xCBF43926u);   // the CRC-32 check value
  EXPECT_EQ(io::adler32(p, s.size()), 0x091E01DEu); // zlib.adler32(b"123456789")
  EXPECT_EQ(io::adler32(nullptr, 0), 1u);
}

TEST(Png, ChunksHaveValidLengthsAndCrcs) {
  // 300 x 250 RGB = 225 kB raw: more than three stored deflate blocks.
  torch::Tensor img = torch::randint(0, 256, {300, 250, 3}, torch::kInt64).to(torch::kUInt8);
  const std::string bytes = io::png_bytes(img);
  ASSERT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  size_t pos = 8;
  std::vector<std::string> types;
  std::string idat;
  while (pos < bytes.size()) {
    const uint32_t len = be32(bytes, pos);
    const std::string type = bytes.substr(pos + 4, 4);
    const auto* typed = reinterpret_cast<const uint8_t*>(bytes.data() + pos + 4);
    EXPECT_EQ(io::crc32(typed, len + 4), be32(bytes, pos + 8 + len)) << type;
    if (type == "IHDR") {
      EXPECT_EQ(be32(bytes, pos + 8), 250u);   // width
      EXPECT_EQ(be32(bytes, pos + 12), 300u);  // height
      EXPECT_EQ(uint8_t(bytes[pos + 16]), 8);  // bit depth
      EXPECT_EQ(uint8_t(bytes[pos + 17]), 2);  // RGB
    }
    if (type == "IDAT") idat += bytes.substr(pos + 8, len);
    types.push_back(type);
    pos += 12 + len;
  }
  EXPECT_EQ(pos, bytes.size());
  ASSERT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  // zlib header valid, stored blocks cover exactly the filtered rows, Adler-32 matches.
  EXPECT_EQ(((uint8_t(idat[0]) << 8) | uint8_t(idat[1])) % 31, 0);
  std::string raw;
  size_t q = 2;
  bool last = false;
  while (!last) {
    last = idat[q] & 1;
    EXPECT_EQ((uint8_t(idat[q]) >> 1) & 3, 0);  // stored
    const uint32_t n = uint8_t(idat[q + 1]) | (uint8_t(idat[q + 2]) << 8);
    const uint32_t nn = uint8_t(idat[q + 3]) | (uint8_t(idat[q + 4]) << 8);
    EXPECT_EQ(n ^ 0xFFFFu, nn);
    raw += idat.substr(q + 5, n);
    q += 5 + n;
  }
  ASSERT_EQ(raw.size(), 300u * (250 * 3 + 1));
  EXPECT_EQ(be32(idat, q), io::adler32(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
  EXPECT_EQ(q + 4, idat.size());
  const torch::Tensor back = torch::from_blob(raw.data(), {300, 751}, torch::kUInt8).slice(1, 1).reshape({300, 250, 3});
  EXPECT_TRUE(torch::equal(back, img));
}

TEST(Png, HeatmapReadsBackInPython) {
  if (!testkit::python_has("zlib struct")) GTEST_SKIP() << "no Python at " << testkit::kPython;
  testkit::TempDir dir;
  // Row 0 is the maximum (yellow end of viridis), row 2 the minimum (dark purple).
  const torch::Tensor v = torch::tensor({{9.0, 9.0}, {4.0, 5.0}, {0.0, 0.0}}, torch::kFloat64);
  io::write_png_heatmap(dir / "h.png", v, false);
  io::write_png_heatmap(dir / "log.png", v + 1.0, true);
  testkit::write_text(dir / "check.py",
                      "import sys, zlib, struct\n"
                      "for name in ('h.png', 'log.png'):\n"
                      "  b = open(sys.argv[1] + '/' + name, 'rb').read()\n"
                      "  assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
                      "  w, h = struct.unpack('>II', b[16:24]); assert (w, h) == (2, 3), (w, h)\n"
                      "  i, idat = 8, b''\n"
                      "  while i < len(b):\n"
                      "    n, = struct.unpack('>I', b[i:i+4]); t = b[i+4:i+8]\n"
                      "    assert zlib.crc32(b[i+4:i+8+n]) == struct.unpack('>I', b[i+8+n:i+12+n])[0]\n"
                      "    if t == b'IDAT': idat += b[i+8:i+8+n]\n"
                      "    i += 12 + n\n"
                      "  raw = zlib.decompress(idat); assert len(raw) == 3 * 7\n"
                      "  rows = [raw[r*7+1:r*7+7] for r in range(3)]\n"
                      "  assert rows[0][:3] == bytes([253, 231, 37]), rows[0]\n"
                      "  assert rows[2][:3] == bytes([68, 1, 84]), rows[2]\n"
                      "print('ok')\n");
  EXPECT_EQ(testkit::run_python(dir / "check.py", dir.path().string()), 0);
}

TEST(Png, BadInputIsAClearErrorAndWritesNothing) {
  testkit::TempDir dir;
  EXPECT_THROW(io::write_png_heatmap(dir / "a.png", torch::rand({3}), false), Error);
  EXPECT_THROW(io::write_png_heatmap(dir / "b.png", torch::rand({0, 3}), false), Error);
  try {
    io::write_png_heatmap(dir / "c.png", torch::tensor({{1.0, std::nan("")}}), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.png"), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  // A constant image is fine (uniform colour).
  io::write_png_heatmap(dir / "const.png", torch::ones({4, 5}), true);
  EXPECT_TRUE(std::filesystem::exists(dir / "const.png"));
}
