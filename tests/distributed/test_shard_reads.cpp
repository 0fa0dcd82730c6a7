// A data-parallel rank reads only its own shard: the bytes this process reads from files
// (Linux /proc/self/io, rchar) while one rank loads its columns of an .npy V or the samples
// under its frames of a WAV, against that shard's share of the file. A loader that reads the
// whole input and slices it gives the same values (the other shard tests check those) but
// reads every rank's data: these tests catch it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "app/audio_shard.h"
#include "app/column_shard.h"
#include "app/config.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"
#include "../test_support.h"

namespace factorch {
namespace {

// Bytes this process has read so far (read(2), pread(2), ...), or -1 without /proc/self/io.
int64_t bytes_read() {
  std::ifstream in("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (in >> key >> value)
    if (key == "rchar:") return value;
  return -1;
}

TEST(ShardReads, ARankReadsOnlyItsColumnsOfTheNpy) {
  if (bytes_read() < 0) GTEST_SKIP() << "no /proc/self/io on this system";
  testkit::TempDir dir;
  // 64 × 4096 float64 (2 MiB), C order: a rank's columns are one run of bytes per row.
  // V[i, j] = 4096 i + j, so the values name the row and column they came from.
  const int64_t F = 64, N = 4096, world = 4;
  const torch::Tensor V = torch::arange(F * N, torch::kFloat64).reshape({F, N});
  io::save_npy(dir / "V.npy", V);
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(dir / "V.npy"));
  testkit::write_text(dir / "c.yaml", "model: {type: nmf}\ndata: {input: " + (dir / "V.npy") + "}\n");
  const Config c = Config::load(dir / "c.yaml");
  for (int r = 0; r < world; ++r) {
    distributed::ColumnShard shard;
    const int64_t before = bytes_read();
    const TrainingData d = app::load_column_shard(c, r, world, &shard);
    const int64_t read = bytes_read() - before;
    EXPECT_TRUE(torch::equal(d.X, V.slice(1, shard.begin, shard.end))) << "rank " << r;
    const int64_t share = F * shard.size() * 8;
    std::printf("rank %d of %lld: read %lld bytes, its shard is %lld of %lld\n", r, static_cast<long long>(world),
                static_cast<long long>(read), static_cast<long long>(share), static_cast<long long>(file_bytes));
    // Measured: 532 588 bytes for a share of 524 288 (the header and one 8 KiB buffer more).
    // Bounded at 1.05 × its share + 8 KiB: reading the whole file is 4 × its share, and the
    // reader's old fixed 1 MiB header prefix read 3 × (1 573 001 bytes).
    EXPECT_GE(read, share) << "rank " << r;
    EXPECT_LT(read, share + share / 20 + 8192) << "rank " << r;
  }
}

TEST(ShardReads, ARankReadsOnlyTheSamplesUnderItsFramesOfTheWav) {
  if (bytes_read() < 0) GTEST_SKIP() << "no /proc/self/io on this system";
  testkit::TempDir dir;
  // 160 000 float32 samples (640 kB), 4 ranks: each reads about a quarter of the file.
  const int64_t T = 160000;
  const int world = 4;
  const torch::Tensor x = 0.3 * torch::sin(torch::arange(T, torch::kFloat64) * 0.05);
  io::write_wav(dir / "x.wav", x, 8000, io::WavFormat::Float32);
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(dir / "x.wav"));
  testkit::write_text(dir / "c.yaml", "model: {type: nmf}\ndata: {input: " + (dir / "x.wav") +
                                          ", transform: {n_fft: 512, hop: 256}}\n");
  const Config c = Config::load(dir / "c.yaml");
  int64_t columns = 0, total = 0;
  for (int r = 0; r < world; ++r) {
    distributed::ColumnShard shard;
    const int64_t before = bytes_read();
    const TrainingData d = app::load_audio_column_shard(c, r, world, &shard);
    const int64_t read = bytes_read() - before;
    EXPECT_EQ(d.X.size(1), shard.size());
    columns += shard.size();
    total = shard.total;
    const int64_t share = file_bytes / world;
    std::printf("rank %d of %d: read %lld bytes, a quarter of the file is %lld of %lld\n", r, world,
                static_cast<long long>(read), static_cast<long long>(share), static_cast<long long>(file_bytes));
    // Measured: 160 113 to 162 161 bytes for a quarter of 160 020 (the frames overlap by
    // n_fft − hop samples at each end, and the header). Bounded at 1.05 × the quarter + 4 KiB.
    EXPECT_LT(read, share + share / 20 + 4096) << "rank " << r;
  }
  EXPECT_EQ(columns, total);  // the shards cover V once
}

}  // namespace
}  // namespace factorch
