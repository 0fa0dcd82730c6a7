#pragma once
// Helpers of the data-parallel tests: start ranks of `factorch train` on localhost as
// torchrun would (RANK, WORLD_SIZE, MASTER_ADDR/PORT set by hand), wait for them with a hang
// guard, and compare factors.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "factorch/distributed/communicator.h"
#include "factorch/distributed/launch.h"
#include "../test_support.h"

#define SKIP_WITHOUT_C10D()                                                                          \
  if (!::factorch::distributed::Communicator::available())                                          \
  GTEST_SKIP() << "built without the Gloo headers (apt-get install libgloo-dev): no data-parallel runs"

namespace factorch::ranktest {

struct Rank {
  pid_t pid = -1;
  std::string err_path;
};

// Starts rank `rank` of `world` as torchrun would: `factorch train ARGS` with the variables set.
inline Rank start_rank(const std::string& dir, int rank, int world, int port, const std::vector<std::string>& args) {
  Rank r;
  r.err_path = dir + "/rank" + std::to_string(rank) + ".err";
  const std::string exe = std::string(testkit::kBinaryDir) + "/factorch";
  r.pid = ::fork();
  if (r.pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::setenv("RANK", std::to_string(rank).c_str(), 1);
    ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    const int out = ::open("/dev/null", O_WRONLY), err = ::open(r.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<std::string> all{exe, "train"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return r;
}

// Waits for a rank; a hang guard (not a timing check): kills it after `limit_s`.
inline int wait_rank(const Rank& r, double limit_s = 300) {
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  while (::waitpid(r.pid, &status, WNOHANG) == 0) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > limit_s) {
      ::kill(r.pid, SIGKILL);
      ::waitpid(r.pid, &status, 0);
      ADD_FAILURE() << "rank did not stop within " << limit_s << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `world` ranks torchrun-style; returns their exit statuses (a failed rank's stderr is
// reported unless `expect_failure`).
inline std::vector<int> run_ranks(const std::string& dir, int world, const std::vector<std::string>& args,
                                  bool expect_failure = false) {
  const int port = distributed::free_local_port();
  std::vector<Rank> ranks;
  for (int r = 0; r < world; ++r) ranks.push_back(start_rank(dir, r, world, port, args));
  std::vector<int> status;
  for (const Rank& r : ranks) status.push_back(wait_rank(r));
  for (int r = 0; r < world && !expect_failure; ++r)
    if (status[r] != 0) ADD_FAILURE() << "rank " << r << ": " << testkit::read_text(ranks[r].err_path);
  return status;
}

inline double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

}  // namespace factorch::ranktest
