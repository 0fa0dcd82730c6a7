#include "factorch/io/npy.h"

#include <cstdint>
#include <cstring>
#include <algorithm>
#include <vector>

#include <ATen/ATen.h>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::io {

namespace {

struct DtypeCode {
  const char* descr;
  torch::ScalarType type;
};
const DtypeCode kCodes[] = {{"<f8", torch::kFloat64}, {"<f4", torch::kFloat32}, {"<i8", torch::kInt64},
                            {"<i4", torch::kInt32},   {"|u1", torch::kUInt8},   {"|b1", torch::kBool}};

}  // namespace

std::string npy_bytes(const torch::Tensor& tensor_in) {
  const torch::Tensor t = tensor_in.detach().to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& c : kCodes)
    if (c.type == t.scalar_type()) descr = c.descr;
  require(descr != nullptr, std::string("cannot write dtype ") + c10::toString(t.scalar_type()) + " as .npy");
  std::string shape = "(";
  for (int64_t i = 0; i < t.dim(); ++i) shape += std::to_string(t.size(i)) + (t.dim() == 1 || i + 1 < t.dim() ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(len >> 8));
  out += header;
  if (t.numel() > 0) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

void save_npy(const std::string& path, const torch::Tensor& tensor) { write_file_atomically(path, npy_bytes(tensor)); }

namespace {

// The value text after 'key': in the header dict (without surrounding spaces), or "" if absent.
// A plain scan, no std::regex: libstdc++'s regex recurses per character and a long corrupt
// header could overflow the stack.
std::string header_value(const std::string& header, const std::string& key) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  size_t i = at + key.size() + 2;
  while (i < header.size() && (header[i] == ' ' || header[i] == ':')) ++i;
  if (i >= header.size()) return "";
  const char open = header[i];
  const char close = open == '\'' ? '\'' : open == '(' ? ')' : '\0';
  if (close != '\0') {
    const size_t end = header.find(close, i + 1);
    return end == std::string::npos ? "" : header.substr(i, end - i + 1);
  }
  size_t end = i;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  while (end > i && header[end - 1] == ' ') --end;
  return header.substr(i, end - i);
}

// Multiplies sizes, or returns -1 past 2^62 (no signed overflow).
int64_t checked_product(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > (int64_t{1} << 62) / b) return -1;
  return a * b;
}

}  // namespace

NpyHeader parse_npy_header(const std::string& bytes, const std::string& path) {
  require(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, path + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    require(major == 2 || major == 3, path + ": unsupported .npy version " + std::to_string(major));
    require(bytes.size() >= 12, path + ": truncated .npy header");
    uint32_t l = 0;
    for (int b = 3; b >= 0; --b) l = (l << 8) | static_cast<unsigned char>(bytes[8 + b]);
    header_len = l;
    offset = 12;
  }
  require(header_len <= static_cast<size_t>(kMaxNpyHeader),
          path + ": .npy header of " + std::to_string(header_len) + " bytes (corrupt file?)");
  require(bytes.size() >= offset + header_len, path + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  NpyHeader h;
  h.data_offset = static_cast<int64_t>(offset + header_len);

  const std::string quoted = header_value(header, "descr");
  require(quoted.size() >= 2 && quoted.front() == '\'' && quoted.back() == '\'', path + ": .npy header has no descr");
  const std::string descr = quoted.substr(1, quoted.size() - 2);
  bool found = false;
  for (const auto& c : kCodes)
    if (descr == c.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(c.descr).substr(1)))
      h.dtype = c.type, found = true;
  require(found, path + ": unsupported .npy dtype '" + descr + "' (need <f8, <f4, <i8, <i4, u1 or b1)");

  const std::string fortran = header_value(header, "fortran_order");
  require(fortran == "True" || fortran == "False", path + ": .npy header has no fortran_order");
  h.fortran_order = fortran == "True";

  const std::string shape = header_value(header, "shape");
  require(shape.size() >= 2 && shape.front() == '(' && shape.back() == ')', path + ": .npy header has no shape");
  // "(3, 4)", "(5,)", "()": comma-separated non-negative integers, a trailing comma allowed.
  const std::string bad_shape = path + ": .npy shape " + shape + " is not a tuple of non-negative integers";
  std::string item;
  h.numel = 1;
  auto add_dim = [&](const std::string& text, bool last) {
    const size_t a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
    if (a == std::string::npos) {
      require(last, bad_shape);  // only "(5,)" or "()" may end in an empty item
      return;
    }
    const std::string digits = text.substr(a, b - a + 1);
    if (digits.back() == 'L') require(digits.size() > 1, bad_shape);  // Python 2 longs: 5L
    const std::string d = digits.back() == 'L' ? digits.substr(0, digits.size() - 1) : digits;
    require(!d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == std::string::npos, bad_shape);
    h.shape.push_back(std::stoll(d));
    require(h.shape.size() <= 32, path + ": .npy shape " + shape + " has more than 32 dimensions");
    h.numel = checked_product(h.numel, h.shape.back());
    require(h.numel >= 0, path + ": .npy shape " + shape + " is too large");
  };
  const std::string inner = shape.substr(1, shape.size() - 2);
  size_t from = 0;
  for (size_t comma; (comma = inner.find(',', from)) != std::string::npos; from = comma + 1) add_dim(inner.substr(from, comma - from), false);
  add_dim(inner.substr(from), true);
  h.nbytes = checked_product(h.numel, static_cast<int64_t>(c10::elementSize(h.dtype)));
  require(h.nbytes >= 0, path + ": .npy shape " + shape + " is too large");
  return h;
}

torch::Tensor npy_from_bytes(const std::string& bytes, const std::string& path) {
  const NpyHeader h = parse_npy_header(bytes, path);
  const size_t have = bytes.size() - static_cast<size_t>(h.data_offset);
  require(have == static_cast<size_t>(h.nbytes), path + ": .npy data has " + std::to_string(have) +
                                                     " bytes, the header promises " + std::to_string(h.nbytes) +
                                                     " (corrupt file)");
  std::vector<int64_t> storage_shape = h.shape;
  if (h.fortran_order) std::reverse(storage_shape.begin(), storage_shape.end());
  torch::Tensor t = torch::empty(storage_shape, torch::TensorOptions().dtype(h.dtype));
  // An empty array has no storage (data_ptr() is null): memcpy from/to null is undefined.
  if (h.nbytes > 0) std::memcpy(t.data_ptr(), bytes.data() + h.data_offset, static_cast<size_t>(h.nbytes));
  if (h.dtype == torch::kBool) {
    // Any byte other than 0/1 is not a bool (reading it as one is undefined behaviour).
    require(!t.view(torch::kUInt8).gt(1).any().item<bool>(), path + ": .npy bool data holds values other than 0 and 1");
  }
  if (h.fortran_order && t.dim() > 1) {
    std::vector<int64_t> perm(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) perm[i] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

torch::Tensor load_npy(const std::string& path) { return npy_from_bytes(read_file(path), path); }

}  // namespace factorch::io
