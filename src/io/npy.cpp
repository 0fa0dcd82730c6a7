#include "factorch/io/npy.h"

#include <cstdint>
#include <cstring>
#include <regex>
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
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

void save_npy(const std::string& path, const torch::Tensor& tensor) { write_file_atomically(path, npy_bytes(tensor)); }

torch::Tensor load_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  require(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, path + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    require(major == 2 || major == 3, path + ": unsupported .npy version " + std::to_string(major));
    require(bytes.size() >= 12, path + ": truncated .npy header");
    uint32_t l;
    std::memcpy(&l, bytes.data() + 8, 4);
    header_len = l;
    offset = 12;
  }
  require(bytes.size() >= offset + header_len, path + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  require(std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")), path + ": .npy header has no descr");
  const std::string descr = m[1];
  torch::ScalarType type = torch::kFloat64;
  bool found = false;
  for (const auto& c : kCodes)
    if (descr == c.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(c.descr).substr(1)))
      type = c.type, found = true;
  require(found, path + ": unsupported .npy dtype '" + descr + "' (need <f8, <f4, <i8, <i4, u1 or b1)");
  require(std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*(True|False)")),
          path + ": .npy header has no fortran_order");
  const bool fortran = m[1] == "True";
  require(std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")), path + ": .npy header has no shape");
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex digits("\\d+");
  std::sregex_iterator it(dims.begin(), dims.end(), digits), end;
  for (; it != end; ++it) shape.push_back(std::stoll(it->str()));
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const size_t data_offset = offset + header_len;
  const size_t need = static_cast<size_t>(numel) * c10::elementSize(type);
  require(bytes.size() - data_offset == need, path + ": .npy data has " + std::to_string(bytes.size() - data_offset) +
                                                  " bytes, the header promises " + std::to_string(need) + " (corrupt file)");
  std::vector<int64_t> storage_shape = shape;
  if (fortran) std::reverse(storage_shape.begin(), storage_shape.end());
  torch::Tensor t = torch::empty(storage_shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bytes.data() + data_offset, need);
  if (fortran && t.dim() > 1) {
    std::vector<int64_t> perm(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) perm[i] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

}  // namespace factorch::io
