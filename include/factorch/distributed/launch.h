#pragma once
// How a data-parallel run is launched: the torchrun contract (environment variables RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, as torchrun and torch.distributed's
// env:// rendezvous use them), and a local launcher that starts N workers itself.
#include <optional>
#include <string>
#include <vector>

namespace factorch::distributed {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
};

/// The launch variables of this process, or nullopt when neither RANK nor WORLD_SIZE is set
/// (a plain single-process run). Throws factorch::Error (one line naming the variable) when
/// they are incomplete or inconsistent: WORLD_SIZE without RANK, a rank outside
/// [0, WORLD_SIZE), no MASTER_ADDR / MASTER_PORT, values that are not integers.
std::optional<LaunchEnv> launch_env_from_environment();

/// A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it).
int free_local_port();

/// Starts `nproc` copies of this executable with `args` (argv[1..]) and the torchrun
/// variables of a single-node job (MASTER_ADDR 127.0.0.1, a free MASTER_PORT unless one is
/// set), waits for all of them and returns 0 if all succeeded. Otherwise returns the
/// first failure's status (128 + signal for a killed worker) after printing one line
/// naming the worker; the others stop by themselves when their next collective fails.
int spawn_local_workers(int nproc, const std::vector<std::string>& args);

}  // namespace factorch::distributed
