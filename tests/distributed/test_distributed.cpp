// Data-parallel training over c10d (Gloo on localhost): ranks are started by the test, either
// with the torchrun variables set by hand (as torchrun would) or by `factorch train --nproc`.
// Float64 MU with 1, 2 and 3 ranks (uneven shards) must give the single-process factors to
// 1e-10 relative (the bound): the only difference is the order of the sums over
// columns (all-reduce); measured 0.8–1.1e-15 for W and H after 40 iterations with 2 and 3
// ranks, so the bound has a 1e5 margin and still catches any real difference (a wrong
// shard, a penalty counted twice, a rank-dependent init are all ≥ 1e-4).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <torch/torch.h>

#include "app/column_shard.h"
#include "app/run.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "factorch/distributed/launch.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/train/threads.h"
#include "../test_support.h"
#include "rank_spawn.h"

namespace factorch {
namespace {

using testkit::TempDir;
using ranktest::Rank;
using ranktest::relative_error;
using ranktest::run_ranks;
using ranktest::start_rank;
using ranktest::wait_rank;

// V = W0·H0 + 0.1 (F×N, float64), nonnegative with a low-rank structure.
void write_matrix(const std::string& path, int64_t F, int64_t N, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor V = torch::mm(torch::rand({F, 4}, torch::kFloat64), torch::rand({4, N}, torch::kFloat64)) + 0.1;
  io::save_npy(path, V);
}

std::string config_text(const std::string& extra_model, int64_t max_iter, int timeout = 30) {
  return "model: {type: nmf, rank: 3, seed: 7" + extra_model + "}\n"
         "data: {input: V.npy}\n"
         "trainer: {max_iter: " + std::to_string(max_iter) + ", tol: 0, dtype: float64, progress: never, "
         "dist_timeout: " + std::to_string(timeout) + "}\n"
         "output: {dir: out}\n";
}

void expect_same_factors(const std::string& a_dir, const std::string& b_dir, double tol, const std::string& what) {
  const NamedTensors a = io::load_tensors_pt(a_dir + "/factors.pt"), b = io::load_tensors_pt(b_dir + "/factors.pt");
  for (const char* name : {"W", "H"}) {
    ASSERT_NE(a.find(name), nullptr) << what;
    ASSERT_EQ(a.find(name)->sizes(), b.find(name)->sizes()) << what << " " << name;
    EXPECT_LT(relative_error(*a.find(name), *b.find(name)), tol) << what << " " << name;
  }
  // The .npy exports are the gathered factors too.
  EXPECT_TRUE(torch::equal(io::load_npy(a_dir + "/factors/H.npy"), *a.find("H"))) << what;
}

// The last objective in history.csv.
double last_objective(const std::string& dir) {
  std::stringstream in(testkit::read_text(dir + "/history.csv"));
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const size_t a = last.find(','), b = last.find(',', a + 1);
  return std::stod(last.substr(a + 1, b - a - 1));
}

TEST(ColumnShard, SplitIsBalancedContiguousAndCoversEveryColumn) {
  for (int world : {1, 2, 3, 7}) {
    int64_t next = 0;
    for (int r = 0; r < world; ++r) {
      const distributed::ColumnShard s = distributed::ColumnShard::split(31, r, world);
      EXPECT_EQ(s.begin, next);
      EXPECT_GE(s.size(), 31 / world);
      EXPECT_LE(s.size(), 31 / world + 1);
      next = s.end;
    }
    EXPECT_EQ(next, 31);
  }
  EXPECT_EQ(distributed::ColumnShard::split(10, 0, 3).counts(), (std::vector<int64_t>{4, 3, 3}));
}

TEST(ColumnShard, ReadsOnlyItsColumnsOfTheNpy) {
  TempDir dir;
  write_matrix(dir / "V.npy", 5, 11, 1);
  testkit::write_text(dir / "c.yaml", "model: {type: nmf}\ndata: {input: " + (dir / "V.npy") + "}\n");
  const Config c = Config::load(dir / "c.yaml");
  const torch::Tensor full = io::load_npy(dir / "V.npy");
  distributed::ColumnShard shard;
  const TrainingData d = app::load_column_shard(c, 2, 3, &shard);
  EXPECT_EQ(shard.begin, 8);
  EXPECT_EQ(shard.end, 11);
  EXPECT_TRUE(torch::equal(d.X, full.slice(1, 8, 11)));
}

TEST(Threads, TrainerThreadsAlsoSizeTheBlasPool) {
  if (blas_threads() < 0) GTEST_SKIP() << "no OpenBLAS thread control in this process";
  set_total_threads(2);
  EXPECT_EQ(blas_threads(), 2);
  TempDir dir;
  write_matrix(dir / "V.npy", 6, 8, 2);
  testkit::write_text(dir / "c.yaml", "model: {type: nmf, rank: 2}\ndata: {input: " + (dir / "V.npy") +
                                          "}\ntrainer: {max_iter: 2, threads: 1}\n");
  app::RunOptions o;
  o.write_outputs = false;
  o.quiet = true;
  app::run_training(Config::load(dir / "c.yaml"), o);
  // threads: 1 means one thread in total: the OpenBLAS pool was resized too.
  EXPECT_EQ(blas_threads(), 1);
}

TEST(Distributed, MuWithOneTwoAndThreeRanksGivesTheSingleProcessFactors) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  write_matrix(dir / "V.npy", 12, 31, 3);  // 31 columns: shards 16/15 and 11/10/10
  // β = 1 with a penalty on W (counted once, by rank 0) and one on H; β = 2 (Gram form).
  for (const std::string model : {", beta: 1, l2_w: 0.05, l1_h: 0.01", ", beta: 2, normalise: l2"}) {
    testkit::write_text(dir / "c.yaml", config_text(model, 40));
    const auto single = testkit::run_factorch("train c.yaml --out single --quiet", dir.path().string());
    ASSERT_EQ(single.status, 0) << single.err;
    if (model.find("beta: 1") != std::string::npos) {  // the launcher once is enough
      const auto two = testkit::run_factorch("train c.yaml --out two --quiet --nproc 2", dir.path().string());
      ASSERT_EQ(two.status, 0) << two.err;
      expect_same_factors(dir / "two", dir / "single", 1e-10, "2 ranks" + model);
    }
    ASSERT_EQ(run_ranks(dir.path().string(), 3, {"c.yaml", "--out", "three", "--quiet"}), (std::vector<int>{0, 0, 0}));
    expect_same_factors(dir / "three", dir / "single", 1e-10, "3 ranks" + model);
    const double j1 = last_objective(dir / "single");
    EXPECT_LT(std::abs(last_objective(dir / "three") - j1) / j1, 1e-10) << model;
    // Only rank 0 wrote, and what it wrote is the single-process layout.
    std::string resolved = testkit::read_text(dir / "three/config.resolved.yaml");
    resolved.replace(resolved.find("dir: three"), 10, "dir: single");
    EXPECT_EQ(resolved, testkit::read_text(dir / "single/config.resolved.yaml"));
  }
}

TEST(Distributed, AutogradSumsTheGradientsOfW) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  write_matrix(dir / "V.npy", 10, 25, 8);
  testkit::write_text(dir / "c.yaml", config_text(", beta: 1, l2_w: 0.05", 30));
  const std::string autograd = " --set trainer.kind=autograd --set trainer.optimizer=adam --set trainer.lr=0.01";
  ASSERT_EQ(testkit::run_factorch("train c.yaml --out single --quiet" + autograd, d).status, 0);
  const auto two = testkit::run_factorch("train c.yaml --out two --quiet --nproc 2" + autograd, d);
  ASSERT_EQ(two.status, 0) << two.err;
  // Same gradients up to the order of the sums; measured 7e-17 (W, H) after 30 Adam epochs.
  // The MU bound (1e-10) applies (a rank that stepped on its own gradient would be far off).
  expect_same_factors(dir / "two", dir / "single", 1e-10, "autograd, 2 ranks");
}

TEST(Distributed, CheckpointsResumeOnAnyNumberOfRanks) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  write_matrix(dir / "V.npy", 10, 23, 4);
  testkit::write_text(dir / "c.yaml", config_text(", beta: 1", 30));
  ASSERT_EQ(testkit::run_factorch("train c.yaml --out ref --quiet", d).status, 0);
  // 2 ranks → 1 process.
  ASSERT_EQ(testkit::run_factorch("train c.yaml --out a --quiet --nproc 2 --set trainer.max_iter=15", d).status, 0);
  const auto a = testkit::run_factorch("train c.yaml --out a2 --quiet --resume a/checkpoint.pt", d);
  ASSERT_EQ(a.status, 0) << a.err;
  expect_same_factors(dir / "a2", dir / "ref", 1e-10, "2 ranks then 1");
  // 1 process → 3 ranks.
  ASSERT_EQ(testkit::run_factorch("train c.yaml --out b --quiet --set trainer.max_iter=15", d).status, 0);
  ASSERT_EQ(run_ranks(d, 3, {"c.yaml", "--out", "b3", "--quiet", "--resume", "b/checkpoint.pt"}),
            (std::vector<int>{0, 0, 0}));
  expect_same_factors(dir / "b3", dir / "ref", 1e-10, "1 process then 3 ranks");
  const NamedTensors ck = io::load_tensors_pt(dir / "b3/factors.pt");
  EXPECT_EQ(ck.find("H")->size(1), 23);
}

TEST(Distributed, AKilledRankStopsTheOthersWithOneLineAndNoOutputs) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  write_matrix(dir / "V.npy", 40, 3000, 5);
  testkit::write_text(dir / "c.yaml", config_text(", beta: 1", 100000000, 60));
  const int port = distributed::free_local_port();
  std::vector<Rank> ranks;
  for (int r = 0; r < 3; ++r) ranks.push_back(start_rank(d, r, 3, port, {"c.yaml", "--quiet"}));
  // Training is under way once rank 0 has written history.csv (every 50 evaluations).
  const auto t0 = std::chrono::steady_clock::now();
  while (!std::filesystem::exists(dir / "out/history.csv") &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 240)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(std::filesystem::exists(dir / "out/history.csv")) << testkit::read_text(ranks[0].err_path);
  ::kill(ranks[1].pid, SIGKILL);
  EXPECT_EQ(wait_rank(ranks[1]), 128 + SIGKILL);
  for (int r : {0, 2}) {
    // Well within dist_timeout (60 s): the peer's closed socket fails the next collective.
    EXPECT_NE(wait_rank(ranks[r], 120), 0);
    const std::string err = testkit::read_text(ranks[r].err_path);
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find("rank " + std::to_string(r) + ": "), std::string::npos) << err;
    EXPECT_NE(err.find("another rank stopped"), std::string::npos) << err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out/factors.pt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out/factors"));
  for (const auto& f : std::filesystem::directory_iterator(dir / "out"))
    EXPECT_EQ(f.path().string().find(".tmp-"), std::string::npos) << f.path();
}

// `factorch` with launch variables `env` (a shell prefix); one line on stderr, nothing written.
void expect_launch_error(const std::string& d, const std::string& env, const std::string& needle) {
  const std::string cmd = "cd \"" + d + "\" && " + env + " \"" + testkit::kBinaryDir +
                          "/factorch\" train c.yaml --out bad --quiet > /dev/null 2> launch.err";
  const int raw = std::system(cmd.c_str());
  EXPECT_NE(WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, 0) << env;
  const std::string err = testkit::read_text(d + "/launch.err");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << env << ": " << err;
  EXPECT_NE(err.find(needle), std::string::npos) << env << ": " << err;
  EXPECT_FALSE(std::filesystem::exists(d + "/bad")) << env;
}

TEST(Distributed, BadLaunchesAreOneLineErrors) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  write_matrix(dir / "V.npy", 6, 9, 6);
  testkit::write_text(dir / "c.yaml", config_text("", 5, 2));
  expect_launch_error(d, "WORLD_SIZE=2", "RANK is not");
  expect_launch_error(d, "RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500", "RANK=2 is not below WORLD_SIZE=2");
  expect_launch_error(d, "RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1", "MASTER_PORT");
  // Nobody serves this port: rank 1 gives up after trainer.dist_timeout (2 s here).
  expect_launch_error(d, "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                             std::to_string(distributed::free_local_port()), "cannot reach the master");

  {  // A port somebody else listens on: rank 0 cannot serve the rendezvous there.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    expect_launch_error(d, "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(ntohs(a.sin_port)),
                        "Address already in use");
    ::close(fd);
  }
  // Ranks started with different overrides: every rank refuses before reading or writing.
  const int port = distributed::free_local_port();
  const Rank r0 = start_rank(d, 0, 2, port, {"c.yaml", "--out", "bad", "--quiet"});
  const Rank r1 = start_rank(d, 1, 2, port, {"c.yaml", "--out", "bad", "--quiet", "--set", "trainer.max_iter=7"});
  for (const Rank& r : {r0, r1}) {
    EXPECT_NE(wait_rank(r, 120), 0);
    const std::string err = testkit::read_text(r.err_path);
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find("different resolved configs"), std::string::npos) << err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
}

}  // namespace
}  // namespace factorch
