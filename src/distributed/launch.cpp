#include "factorch/distributed/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "factorch/error.h"

extern char** environ;

namespace factorch::distributed {

namespace {

std::optional<std::string> env_text(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

int env_integer(const char* name, const std::string& text, int lo, int hi) {
  long value = 0;
  size_t used = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw Error("environment variable " + std::string(name) + "='" + text + "' is not an integer");
  if (value < lo || value > hi)
    throw Error("environment variable " + std::string(name) + "=" + text + " must be in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return static_cast<int>(value);
}

}  // namespace

std::optional<LaunchEnv> launch_env_from_environment() {
  const auto rank = env_text("RANK"), world = env_text("WORLD_SIZE");
  if (!rank && !world) return std::nullopt;
  if (!rank) throw Error("WORLD_SIZE=" + *world + " is set but RANK is not (set both, as torchrun does, or neither)");
  if (!world) throw Error("RANK=" + *rank + " is set but WORLD_SIZE is not (set both, as torchrun does, or neither)");
  LaunchEnv e;
  e.world_size = env_integer("WORLD_SIZE", *world, 1, 1 << 20);
  e.rank = env_integer("RANK", *rank, 0, 1 << 20);
  if (e.rank >= e.world_size)
    throw Error("RANK=" + *rank + " is not below WORLD_SIZE=" + *world + " (ranks are 0 .. WORLD_SIZE-1)");
  if (auto local = env_text("LOCAL_RANK")) e.local_rank = env_integer("LOCAL_RANK", *local, 0, 1 << 20);
  const auto addr = env_text("MASTER_ADDR"), port = env_text("MASTER_PORT");
  if (!addr || addr->empty()) throw Error("RANK and WORLD_SIZE are set but MASTER_ADDR is not (the rendezvous host)");
  if (!port) throw Error("RANK and WORLD_SIZE are set but MASTER_PORT is not (the rendezvous port)");
  e.master_addr = *addr;
  e.master_port = env_integer("MASTER_PORT", *port, 1, 65535);
  return e;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  require(ok, std::string("cannot find a free local port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

int spawn_local_workers(int nproc, const std::vector<std::string>& args) {
  require(nproc >= 1, "--nproc must be at least 1, got " + std::to_string(nproc));
  const std::string port = env_text("MASTER_PORT").value_or(std::to_string(free_local_port()));
  std::vector<std::string> argv_text{"/proc/self/exe"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::map<pid_t, int> ranks;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    require(pid >= 0, std::string("--nproc: cannot start a worker: ") + std::strerror(errno));
    if (pid == 0) {
      // A worker must not outlive its launcher (killed by a job scheduler or Ctrl-C).
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() == 1) ::_exit(1);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : argv_text) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "factorch: error: --nproc: cannot start worker %d: %s\n", r, std::strerror(errno));
      ::_exit(127);
    }
    ranks[pid] = r;
  }
  int first_failure = 0;
  while (!ranks.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = ranks.find(pid);
    if (it == ranks.end()) continue;
    const int rank = it->second;
    ranks.erase(it);
    int code = 0;
    std::string how;
    if (WIFSIGNALED(status)) {
      code = 128 + WTERMSIG(status);
      how = std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      code = WEXITSTATUS(status);
      how = "exited with status " + std::to_string(code);
    }
    if (code != 0 && first_failure == 0) {
      first_failure = code;
      // The others notice at their next collective (or at the timeout) and stop on their own,
      // so that rank 0 never leaves a file half-written.
      std::fprintf(stderr, "factorch: error: worker rank %d of %d %s; the run failed\n", rank, nproc, how.c_str());
    }
  }
  return first_failure;
}

}  // namespace factorch::distributed
