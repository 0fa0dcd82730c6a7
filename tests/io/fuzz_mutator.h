#pragma once
// Seeded mutations of valid inputs for the parser fuzz tests (tests/io/test_fuzz_parsers.cpp)
// and helpers to run a parser over them: every input must give a valid result or a
// factorch::Error, never another exception, a crash, a hang or a huge allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "factorch/error.h"

namespace factorch::testkit {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  /// One to three random mutations: truncation, bit flips, byte overwrites with boundary
  /// values, a little-endian field overwritten with an extreme value (sizes, counts),
  /// duplicated or deleted chunks.
  std::string mutate(std::string s) {
    const int rounds = 1 + static_cast<int>(below(3));
    for (int r = 0; r < rounds && !s.empty(); ++r) {
      switch (below(6)) {
        case 0:
          s.resize(below(s.size()));
          break;
        case 1:
          for (int k = 1 + static_cast<int>(below(8)); k > 0; --k) s[below(s.size())] ^= static_cast<char>(1 << below(8));
          break;
        case 2: {
          static const unsigned char values[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe};
          s[below(s.size())] = static_cast<char>(values[below(sizeof values)]);
          break;
        }
        case 3: {
          static const uint64_t extremes[] = {0, 1, 0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 0xffffffffffffffffULL,
                                              0x7fffffffffffffffULL, 0x8000000000000000ULL, 65535, 65536};
          const uint64_t v = extremes[below(sizeof extremes / sizeof extremes[0])];
          const size_t width = size_t{1} << below(4), at = below(s.size());
          for (size_t i = 0; i < width && at + i < s.size(); ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
          break;
        }
        case 4: {
          const size_t at = below(s.size()), n = 1 + below(std::min<size_t>(64, s.size() - at));
          s.insert(at, s.substr(at, n));
          break;
        }
        default: {
          const size_t at = below(s.size());
          s.erase(at, 1 + below(std::min<size_t>(64, s.size() - at)));
        }
      }
    }
    return s;
  }

  /// Mutations that keep the length: bit flips, boundary bytes, extreme little-endian fields.
  std::string mutate_in_place(std::string s) {
    if (s.empty()) return s;
    for (int r = 1 + static_cast<int>(below(3)); r > 0; --r) {
      const size_t at = below(s.size());
      switch (below(3)) {
        case 0: s[at] ^= static_cast<char>(1 << below(8)); break;
        case 1: s[at] = static_cast<char>(below(2) ? 0xff : below(256)); break;
        default: {
          static const uint64_t extremes[] = {0, 0xffffffffULL, 0x7fffffffULL, 0xffffffffffffffffULL, 255, 1000000};
          const uint64_t v = extremes[below(6)];
          for (size_t i = 0; i < 4 && at + i < s.size(); ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
        }
      }
    }
    return s;
  }

  /// Replaces one run of decimal digits with a huge, negative or zero number (text formats).
  std::string mutate_number(std::string s) {
    std::vector<size_t> starts;
    for (size_t i = 0; i < s.size(); ++i)
      if (std::isdigit(static_cast<unsigned char>(s[i])) && (i == 0 || !std::isdigit(static_cast<unsigned char>(s[i - 1]))))
        starts.push_back(i);
    if (starts.empty()) return mutate(s);
    const size_t at = starts[below(starts.size())];
    size_t end = at;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
    static const char* numbers[] = {"99999999999999999999", "4611686018427387904", "-1", "-4611686018427387904", "0",
                                    "2147483648", "1e308", "nan", "18446744073709551615"};
    return s.replace(at, end - at, numbers[below(sizeof numbers / sizeof numbers[0])]);
  }

 private:
  std::mt19937_64 rng_;
};

inline uint32_t zip_crc32(const std::string& s, size_t at, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = at; i < at + n; ++i) {
    c ^= static_cast<unsigned char>(s[i]);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

/// Mutates the data.pkl record of a .pt zip in place and patches its CRC in the local header
/// and the central directory, so that the archive stays valid and the unpickler sees the damage.
inline std::string mutate_pickle_keeping_crc(Mutator& m, std::string zip) {
  auto u16 = [&](size_t at) { return static_cast<size_t>(static_cast<unsigned char>(zip[at]) | (static_cast<unsigned char>(zip[at + 1]) << 8)); };
  auto u32 = [&](size_t at) { return static_cast<size_t>(u16(at) | (u16(at + 2) << 16)); };
  auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) zip[at + i] = static_cast<char>((v >> (8 * i)) & 0xff); };
  const std::string local_sig("PK\x03\x04", 4), central_sig("PK\x01\x02", 4);
  for (size_t p = zip.find(local_sig); p != std::string::npos; p = zip.find(local_sig, p + 4)) {
    const size_t nlen = u16(p + 26), xlen = u16(p + 28), size = u32(p + 18);
    const std::string name = zip.substr(p + 30, nlen);
    if (name.size() < 8 || name.compare(name.size() - 8, 8, "data.pkl") != 0) continue;
    const size_t data = p + 30 + nlen + xlen;
    const std::string pkl = m.mutate_in_place(zip.substr(data, size));
    zip.replace(data, size, pkl);
    const uint32_t crc = zip_crc32(zip, data, size);
    put32(p + 14, crc);
    for (size_t c = zip.find(central_sig); c != std::string::npos; c = zip.find(central_sig, c + 4))
      if (zip.compare(c + 46, nlen, name) == 0) put32(c + 16, crc);
    return zip;
  }
  return m.mutate(zip);
}

/// Outcome counts of a fuzz run; `unexpected` lists inputs that threw something other than
/// factorch::Error (with the exception's message).
struct FuzzOutcome {
  int valid = 0, errors = 0;
  std::vector<std::string> unexpected;
};

/// Runs parse(input) for every input; a factorch::Error is a clean rejection.
inline FuzzOutcome run_fuzz(const std::vector<std::string>& inputs, const std::function<void(const std::string&)>& parse) {
  FuzzOutcome out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    try {
      parse(inputs[i]);
      ++out.valid;
    } catch (const Error&) {
      ++out.errors;
    } catch (const std::exception& e) {
      std::string what = e.what();
      out.unexpected.push_back("input " + std::to_string(i) + ": " + what.substr(0, what.find('\n')));
    }
  }
  return out;
}

}  // namespace factorch::testkit
