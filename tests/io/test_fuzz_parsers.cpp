// Seeded mutation fuzzing of every parser of user files: .npy (whole and lazy column
// reader), WAV (libsndfile), YAML configs and .pt / checkpoints. Thousands of mutated inputs
// from valid seeds (truncation, bit flips, extreme size fields, huge and negative numbers,
// wrong dtypes); each must give a valid result or a factorch::Error — never another
// exception, a crash (the test binary would die), a hang or an allocation of absurd size
// (peak RSS is checked). The libFuzzer targets in tests/fuzz/ explore further (README).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/types.h>

#include "../test_support.h"
#include "app/config.h"
#include "factorch/train/checkpoint.h"
#include "factorch/io/npy.h"
#include "factorch/io/npy_columns.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/torch_zip.h"
#include "factorch/io/wav.h"
#include "fuzz_mutator.h"

using namespace factorch;

namespace {

long peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Checks a run: no unexpected exception, some inputs rejected, at least `min_valid` accepted
// (a parser that rejects everything, or rejects what it used to read, fails), peak memory bounded.
void expect_clean(const testkit::FuzzOutcome& r, const char* what, long rss_before, int min_valid) {
  EXPECT_TRUE(r.unexpected.empty()) << what << ": " << r.unexpected.size() << " inputs threw something other than "
                                    << "factorch::Error, first: " << r.unexpected.front();
  EXPECT_GT(r.errors, 0) << what << ": no input was rejected (is the mutator working?)";
  EXPECT_GE(r.valid, min_valid) << what << ": too few mutated inputs were accepted";
  // The largest seed is a few KiB: a parser that believed a corrupt size field would
  // allocate far more. 256 MiB over the start leaves room for LibTorch's own arenas; under
  // AddressSanitizer freed memory waits in its quarantine (256 MiB by default) and shadow
  // memory adds 1/8, so the bound there is 1 GiB (measured 292–387 MiB over the start).
#ifdef FACTORCH_SANITIZED
  const long bound_mib = 1024;
#else
  const long bound_mib = 256;
#endif
  EXPECT_LT(peak_rss_mib() - rss_before, bound_mib) << what;
  std::printf("%s: %d valid, %d rejected\n", what, r.valid, r.errors);
}

std::string npy_with_header(const std::string& dict) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header;
}

// The seeds and the tensor each one holds.
struct NpySeeds {
  std::vector<std::string> bytes;
  std::vector<torch::Tensor> values;
};

NpySeeds npy_seeds() {
  NpySeeds seeds;
  // Its own generator: the same data bytes whatever ran before, the global one left alone.
  const at::Generator gen = at::detail::createCPUGenerator(1300);
  for (const torch::Tensor& t : {torch::rand({3, 4}, gen, torch::kFloat64), torch::rand({5, 2}, gen, torch::kFloat32),
                                 torch::arange(6, torch::kInt64), torch::tensor({1, 0, 1}, torch::kBool),
                                 torch::zeros({0, 3}, torch::kUInt8), torch::tensor(2.5, torch::kFloat64)}) {
    seeds.bytes.push_back(io::npy_bytes(t));
    seeds.values.push_back(t);
  }
  // Fortran order (column-major data) and a version-2 header.
  std::string f = npy_with_header("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }");
  const torch::Tensor cols = torch::arange(6, torch::kFloat64);
  f.append(static_cast<const char*>(cols.data_ptr()), 48);
  seeds.bytes.push_back(f);
  seeds.values.push_back(cols.reshape({3, 2}).t());  // element (i, j) is data[2 j + i]
  const torch::Tensor t2 = torch::rand({2, 2}, gen, torch::kFloat64);
  std::string v2 = io::npy_bytes(t2);
  v2[6] = 2;
  v2.insert(10, std::string("\0\0", 2));
  seeds.bytes.push_back(v2);
  seeds.values.push_back(t2);
  return seeds;
}

// Same dtype, shape and values.
void expect_same(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  EXPECT_EQ(got.scalar_type(), want.scalar_type()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(torch::equal(got, want)) << what;
}

// Header-aware mutations: a shape or dtype an attacker (or a bad writer) would try.
std::string mutate_npy_header(testkit::Mutator& m, const std::string& seed) {
  static const char* shapes[] = {"(4611686018427387904, 4611686018427387904)", "(-1, 3)", "(99999999999999999999,)",
                                 "(3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34)",
                                 "(3,, 4)", "(a, b)", "(", "()", "(0, 9223372036854775807)", "(2147483648, 2147483648)"};
  static const char* dtypes[] = {"<f2", ">f8", "<c16", "|O", "<U8", "", "<f8<f8", "=f8", "|b1"};
  std::string s = seed;
  const size_t shape = s.find("'shape': ("), descr = s.find("'descr': '");
  if (m.below(2) == 0 && shape != std::string::npos) {
    const size_t close = s.find(')', shape);
    if (close != std::string::npos) s.replace(shape + 9, close - shape - 8, shapes[m.below(sizeof shapes / sizeof shapes[0])]);
  } else if (descr != std::string::npos) {
    const size_t close = s.find('\'', descr + 10);
    if (close != std::string::npos) s.replace(descr + 10, close - descr - 10, dtypes[m.below(sizeof dtypes / sizeof dtypes[0])]);
  }
  return m.below(3) == 0 ? m.mutate(s) : s;
}

}  // namespace

TEST(FuzzParsers, NpyReader) {
  const long rss = peak_rss_mib();
  testkit::Mutator m(1301);
  const NpySeeds npy = npy_seeds();
  // Every seed reads back as the tensor it was written from.
  for (size_t i = 0; i < npy.bytes.size(); ++i)
    expect_same(io::npy_from_bytes(npy.bytes[i], "seed.npy"), npy.values[i], "seed " + std::to_string(i));
  const auto& seeds = npy.bytes;
  std::vector<std::string> inputs;
  for (int i = 0; i < 4000; ++i) {
    const std::string& seed = seeds[m.below(seeds.size())];
    inputs.push_back(i % 3 == 0 ? mutate_npy_header(m, seed) : i % 3 == 1 ? m.mutate(seed) : m.mutate_number(seed));
  }
  const auto r = testkit::run_fuzz(inputs, [](const std::string& b) {
    const torch::Tensor t = io::npy_from_bytes(b, "fuzz.npy");
    (void)t.sum();  // touch every element: the tensor must own what its shape says
  });
  expect_clean(r, "npy", rss, 200);  // measured 212 of 4000
}

TEST(FuzzParsers, NpyColumnReader) {
  const long rss = peak_rss_mib();
  testkit::TempDir dir;
  testkit::Mutator m(1302);
  const NpySeeds npy = npy_seeds();
  const auto& seeds = npy.bytes;
  const std::string path = dir / "fuzz.npy";
  // The 2-D float seeds read column block by column block give the whole matrix in float64.
  for (size_t i : {0, 1, 6}) {
    write_bytes(path, seeds[i]);
    io::NpyColumnReader reader(path);
    std::vector<torch::Tensor> blocks;
    for (int64_t start = 0; start < reader.cols(); start += 2) blocks.push_back(reader.read(start, 2));
    expect_same(torch::cat(blocks, 1), npy.values[i].to(torch::kFloat64), "seed " + std::to_string(i));
  }
  std::vector<std::string> inputs;
  for (int i = 0; i < 1500; ++i) {
    const std::string& seed = seeds[m.below(3) == 0 ? 6 : m.below(2)];  // the 2-D float seeds (C and Fortran)
    inputs.push_back(i % 2 ? mutate_npy_header(m, seed) : m.mutate(seed));
  }
  const auto r = testkit::run_fuzz(inputs, [&](const std::string& b) {
    write_bytes(path, b);
    io::NpyColumnReader reader(path);
    for (int64_t start = 0; start < reader.cols(); start += 2) (void)reader.read(start, 2).sum();
  });
  expect_clean(r, "npy columns", rss, 210);  // measured 221 of 1500
}

TEST(FuzzParsers, WavReader) {
  const long rss = peak_rss_mib();
  testkit::TempDir dir;
  testkit::Mutator m(1303);
  std::vector<std::string> seeds;
  const torch::Tensor x = 0.3 * torch::sin(torch::arange(400, torch::kFloat64) * 0.05);
  for (auto format : {io::WavFormat::Pcm16, io::WavFormat::Float32, io::WavFormat::Pcm24}) {
    // Every seed reads back as its samples to the format's rounding (16 bits: half a step of 2^-15).
    const double step = format == io::WavFormat::Pcm16 ? 0.5 / 32768 : format == io::WavFormat::Pcm24 ? 0.5 / 8388608 : 1e-7;
    for (const auto& [samples, rate] : {std::pair<torch::Tensor, int>{torch::stack({x, -x}), 8000}, {x.unsqueeze(0), 44100}}) {
      io::write_wav(dir / "seed.wav", samples, rate, format);
      seeds.push_back(testkit::read_text(dir / "seed.wav"));
      const io::Audio back = io::read_wav(dir / "seed.wav");
      EXPECT_EQ(back.sample_rate, rate);
      ASSERT_EQ(back.samples.sizes(), samples.sizes());
      EXPECT_LE((back.samples - samples).abs().max().item<double>(), step * 1.01) << "seed " << seeds.size() - 1;
    }
  }
  const std::string path = dir / "fuzz.wav";
  std::vector<std::string> inputs;
  for (int i = 0; i < 2000; ++i) {
    std::string s = seeds[m.below(seeds.size())];
    if (i % 2) {
      // A header field (RIFF size, channels, rate, byte rate, block align, bits, data size)
      // set to an extreme value.
      static const size_t fields[] = {4, 22, 24, 28, 32, 34, 40};
      static const uint32_t values[] = {0, 1, 0xffff, 0xffffffffu, 0x7fffffffu, 3, 1024, 1025};
      const size_t at = fields[m.below(7)];
      const uint32_t v = values[m.below(8)];
      for (size_t k = 0; k < 4 && at + k < s.size(); ++k) s[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
    }
    inputs.push_back(m.below(2) ? m.mutate(s) : s);
  }
  const auto r = testkit::run_fuzz(inputs, [&](const std::string& b) {
    write_bytes(path, b);
    const io::Audio a = io::read_wav(path);
    EXPECT_TRUE(a.samples.isfinite().all().item<bool>());
  });
  expect_clean(r, "wav", rss, 1260);  // measured 1331 of 2000
}

TEST(FuzzParsers, YamlConfig) {
  const long rss = peak_rss_mib();
  testkit::Mutator m(1304);
  std::vector<std::string> seeds;
  for (const auto& e : std::filesystem::directory_iterator(std::string(testkit::kSourceDir) + "/configs"))
    if (e.path().extension() == ".yaml") seeds.push_back(testkit::read_text(e.path().string()));
  seeds.push_back("model: {type: nmf, rank: 3, init: {W: w.npy}}\ndata: {input: x.npy}\ntrainer: {max_iter: 5}\n");
  seeds.push_back("model: &m {type: nmf}\ndata: *m\nmodel2: [1, [2, [3, {a: b}]]]\n");
  ASSERT_GE(seeds.size(), 5u);
  // Every shipped config parses, and its resolved dump parses to the same dump; the
  // hand-written seed gives the values it names.
  for (size_t i = 0; i + 1 < seeds.size(); ++i) {
    SCOPED_TRACE(seeds[i].substr(0, 200));
    const std::string dump = Config::parse(seeds[i], "seed.yaml").dump();
    EXPECT_EQ(Config::parse(dump, "dump.yaml").dump(), dump);
  }
  const Config known = Config::parse(seeds[seeds.size() - 2], "seed.yaml");
  EXPECT_EQ(known.string("model.type"), "nmf");
  EXPECT_EQ(known.integer("model.rank"), 3);
  EXPECT_EQ(known.integer("trainer.max_iter"), 5);
  EXPECT_EQ(known.strings("data.input"), std::vector<std::string>{"x.npy"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 2000; ++i) {
    const std::string& seed = seeds[m.below(seeds.size())];
    inputs.push_back(i % 2 ? m.mutate_number(seed) : m.mutate(seed));
  }
  // Deep nesting and aliases: yaml-cpp must neither overflow the stack nor loop.
  inputs.push_back(std::string(5000, '[') + std::string(5000, ']'));
  inputs.push_back("model: " + std::string(5000, '{') + "a: 1" + std::string(5000, '}'));
  inputs.push_back("a: &a [*a]\n");
  const auto r = testkit::run_fuzz(inputs, [](const std::string& yaml) {
    const Config c = Config::parse(yaml, "fuzz.yaml");
    (void)c.dump();
  });
  // Measured 982 of 2003 with the configs of today; more configs change the count a little.
  expect_clean(r, "yaml", rss, 880);
}

TEST(FuzzParsers, PtAndCheckpointLoader) {
  const long rss = peak_rss_mib();
  testkit::TempDir dir;
  testkit::Mutator m(1305);
  std::vector<std::string> seeds;
  io::Checkpoint ck;
  ck.model_type = "nmf";
  ck.config_yaml = "model: {type: nmf}\n";
  ck.factors.insert("W", torch::rand({4, 2}, torch::kFloat64));
  ck.factors.insert("H", torch::rand({2, 5}, torch::kFloat32).t());
  ck.parameters = ck.factors;
  ck.train_state.iteration = 3;
  ck.train_state.history = {{0, 2.0, NAN, 0.0}, {3, 1.0, 0.5, 0.1}};
  ck.train_state.optimizer_state = "opt";
  io::save_checkpoint(dir / "seed.pt", ck);
  seeds.push_back(testkit::read_text(dir / "seed.pt"));
  io::save_tensors_pt(dir / "seed.pt", ck.factors);
  seeds.push_back(testkit::read_text(dir / "seed.pt"));
  // Both seeds load back as what was saved.
  write_bytes(dir / "back.pt", seeds[0]);
  const io::Checkpoint back = io::load_checkpoint(dir / "back.pt");
  EXPECT_EQ(back.model_type, "nmf");
  EXPECT_EQ(back.config_yaml, ck.config_yaml);
  EXPECT_EQ(back.train_state.iteration, 3);
  EXPECT_EQ(back.train_state.history.size(), 2u);
  EXPECT_EQ(back.train_state.optimizer_state, "opt");
  write_bytes(dir / "back.pt", seeds[1]);
  const auto tensors = io::load_tensors_pt(dir / "back.pt");
  for (const auto* named : {&back.factors, &back.parameters, &tensors}) {
    ASSERT_EQ(named->size(), 2u);
    for (const char* k : {"W", "H"}) {
      ASSERT_TRUE(named->contains(k)) << k;
      expect_same((*named)[k], ck.factors[k], k);
    }
  }
  const std::string path = dir / "fuzz.pt";
  std::vector<std::string> inputs;
  for (int i = 0; i < 3000; ++i) {
    const std::string& seed = seeds[m.below(seeds.size())];
    // Half the inputs mutate the pickle and keep the zip valid (CRCs patched), so that the
    // unpickler, not the CRC check, sees the damage.
    inputs.push_back(i % 2 ? m.mutate(seed) : testkit::mutate_pickle_keeping_crc(m, seed));
  }
  const auto r = testkit::run_fuzz(inputs, [&](const std::string& b) {
    write_bytes(path, b);
    const c10::IValue v = io::load_pt(path);
    if (v.isGenericDict() && v.toGenericDict().contains("format")) {
      const io::Checkpoint back = io::load_checkpoint(path);
      for (const auto& f : back.factors) (void)f.value().sum();
    } else {
      for (const auto& f : io::load_tensors_pt(path)) (void)f.value().sum();
    }
  });
  expect_clean(r, "pt", rss, 95);  // measured 105 of 3000
}
