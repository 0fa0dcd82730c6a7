#pragma once
// The process group of a data-parallel run: c10d (LibTorch's torch.distributed engine),
// rendezvous through a c10d::TCPStore at MASTER_ADDR:MASTER_PORT, Gloo on the CPU, NCCL for
// CUDA tensors when LibTorch and this build have it. The c10d and Gloo headers are
// included by communicator.cpp only; a build without them (no libgloo-dev) still links,
// and connect() then says how to get them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/distributed/launch.h"

namespace factorch::distributed {

struct CommunicatorOptions {
  std::string backend = "auto";  ///< "auto" (nccl for CUDA if built with it, else gloo) | "gloo" | "nccl"
  double timeout_seconds = 300;  ///< rendezvous and each collective
  std::string device = "cpu";    ///< where the tensors live ("cpu", "cuda", "cuda:N")
};

class Communicator {
 public:
  /// Whether this build has c10d with Gloo (the tests skip without it).
  static bool available();
  /// Rendezvous and process group. Throws factorch::Error with one line: master
  /// unreachable within the timeout, port in use, backend unavailable.
  static std::shared_ptr<Communicator> connect(const LaunchEnv& env, const CommunicatorOptions& options);

  ~Communicator();
  int rank() const;
  int world_size() const;
  int local_rank() const;  ///< LOCAL_RANK (GPU index of this rank on its node)
  const std::string& backend() const;

  /// Sums `t` over ranks in place (a contiguous tensor; any device the backend takes).
  void all_reduce_sum(torch::Tensor& t);
  /// Concatenates every rank's `local` along dimension `dim`; `counts[r]` is rank r's size
  /// there (uneven shards are padded for the collective and trimmed here).
  torch::Tensor all_gather(const torch::Tensor& local, int64_t dim, const std::vector<int64_t>& counts);
  /// Fails on every rank (one line naming `what` and the ranks that differ) unless every
  /// rank passes the same `value` (e.g. a hash of the resolved config).
  void require_same(const std::string& what, const std::string& value);
  void barrier();

  /// Bytes this rank has sent into all-reduces so far (payload, not protocol).
  int64_t bytes_all_reduced() const { return bytes_all_reduced_; }

 private:
  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t bytes_all_reduced_ = 0;
};

}  // namespace factorch::distributed
