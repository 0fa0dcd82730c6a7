#include "factorch/distributed/communicator.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <sstream>

#include "factorch/error.h"

// FACTORCH_WITH_GLOO / FACTORCH_WITH_NCCL come from CMake (headers found); USE_C10D_* open
// the c10d headers' guarded sections, as LibTorch's own build defines them.
#ifdef FACTORCH_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef FACTORCH_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace factorch::distributed {

namespace {

std::string first_line(const std::exception& e) {
  std::string text = e.what();
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) text = c10->what_without_backtrace();
  const size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

std::string seconds_text(double s) {
  std::ostringstream out;
  out << s << " s";
  return out.str();
}

// c10d's TCPStore logs a warning for every refused connection attempt and then fails with a
// multi-line error; these probes give one clear line instead, and nothing is logged.
// Rank 0: can MASTER_PORT be served here? (errno of bind, 0 if it can)
int probe_bind(int port) {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  const bool v6 = fd >= 0;
  const int s = v6 ? fd : ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 0;  // let c10d try and report
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  const int err = rc == 0 ? 0 : errno;
  ::close(s);
  return err;
}

// Other ranks: wait until MASTER_ADDR:MASTER_PORT accepts a connection (true) or the timeout.
bool probe_connect(const std::string& host, int port, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  while (true) {
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) == 0) {
      for (addrinfo* p = found; p; p = p->ai_next) {
        const int s = ::socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (s < 0) continue;
        const bool ok = ::connect(s, p->ai_addr, p->ai_addrlen) == 0;
        ::close(s);
        if (ok) {
          ::freeaddrinfo(found);
          return true;
        }
      }
      ::freeaddrinfo(found);
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// c10d does not bound every wait by the timeout: a rank killed during Gloo's full-mesh
// connect leaves rank 0 blocked in a store read forever. The watchdog bounds each blocking
// step: past the timeout (plus a grace so that c10d's own error comes first) it prints the
// one line and ends the process; it cannot cancel the blocked thread. Outputs are written
// by rank 0 between steps, never while one is armed, so nothing is left half-written.
class Watchdog {
 public:
  Watchdog() : state_(std::make_shared<State>()) {
    std::thread([s = state_] {
      std::unique_lock<std::mutex> lock(s->mutex);
      while (true) {
        if (!s->armed) {
          s->changed.wait(lock);
          continue;
        }
        if (s->changed.wait_until(lock, s->deadline) == std::cv_status::timeout && s->armed &&
            std::chrono::steady_clock::now() >= s->deadline) {
          std::fprintf(stderr, "factorch: error: %s\n", s->message.c_str());
          std::fflush(nullptr);
          std::_Exit(2);
        }
      }
    }).detach();  // lives as long as the process (the state is shared with it)
  }
  void arm(double seconds, std::string message) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->armed = true;
    state_->deadline = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    state_->message = std::move(message);
    state_->changed.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->armed = false;
    state_->changed.notify_all();
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    bool armed = false;
    std::chrono::steady_clock::time_point deadline;
    std::string message;
  };
  std::shared_ptr<State> state_;
};

// Arms the watchdog for one blocking step.
class Armed {
 public:
  Armed(Watchdog& w, double seconds, std::string message) : w_(w) { w_.arm(seconds, std::move(message)); }
  ~Armed() { w_.disarm(); }

 private:
  Watchdog& w_;
};

}  // namespace

#ifdef FACTORCH_WITH_GLOO

struct Communicator::Impl {
  Watchdog watchdog;
  LaunchEnv env;
  CommunicatorOptions options;
  std::string backend;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef FACTORCH_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  int64_t same_calls = 0;

  // A collective failed: another rank died, hung past the timeout, or the network broke.
  [[noreturn]] void fail(const std::string& op, const std::exception& e) const {
    throw Error("rank " + std::to_string(env.rank) + ": " + op + " failed: another rank stopped, hung longer than " +
                "trainer.dist_timeout (" + seconds_text(options.timeout_seconds) + ") or cannot be reached (" +
                backend + ": " + first_line(e) + ")");
  }

  // The watchdog's line for a step that blocked past the timeout.
  Armed guard(const std::string& op) {
    return Armed(watchdog, options.timeout_seconds + 10.0,
                 "rank " + std::to_string(env.rank) + ": " + op + " did not complete within trainer.dist_timeout (" +
                     seconds_text(options.timeout_seconds) + "): another rank stopped or cannot be reached");
  }

  template <class Call>
  void run(const std::string& op, Call&& call) {
    const Armed armed = guard(op);
    try {
#ifdef FACTORCH_WITH_NCCL
      if (nccl) {
        call(*nccl);
        return;
      }
#endif
      call(*gloo);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(op, e);
    }
  }
};

bool Communicator::available() { return true; }

std::shared_ptr<Communicator> Communicator::connect(const LaunchEnv& env, const CommunicatorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  impl->options = options;
  const bool cuda = options.device.rfind("cuda", 0) == 0;
  std::string backend = options.backend;
  if (backend == "auto") {
#ifdef FACTORCH_WITH_NCCL
    backend = cuda ? "nccl" : "gloo";
#else
    backend = "gloo";
#endif
  }
  require(backend == "gloo" || backend == "nccl", "trainer.dist_backend must be auto, gloo or nccl, got '" + backend + "'");
#ifndef FACTORCH_WITH_NCCL
  require(backend != "nccl", "trainer.dist_backend is nccl but this build of factorch has no NCCL (LibTorch with CUDA "
                             "and its ProcessGroupNCCL header are needed); use gloo");
#endif
  require(backend != "nccl" || cuda, "trainer.dist_backend is nccl but trainer.device is '" + options.device +
                                         "': NCCL needs CUDA tensors (use gloo on the CPU)");
  impl->backend = backend;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000.0));
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);

  if (env.rank == 0) {
    if (const int err = probe_bind(env.master_port))
      throw Error("rank 0: cannot serve the rendezvous on MASTER_PORT = " + std::to_string(env.master_port) + ": " +
                  std::strerror(err) + (err == EADDRINUSE ? " (another job uses it: pick a free port)" : ""));
  } else if (!probe_connect(env.master_addr, env.master_port, options.timeout_seconds)) {
    throw Error("rank " + std::to_string(env.rank) + ": cannot reach the master at MASTER_ADDR:MASTER_PORT = " + where +
                " within trainer.dist_timeout (" + seconds_text(options.timeout_seconds) + "): is rank 0 running there?");
  }
  // Rendezvous: rank 0 serves the store and waits for WORLD_SIZE workers; the others connect.
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = static_cast<std::size_t>(env.world_size);
  so.waitWorkers = true;
  so.timeout = timeout;
  const Armed rendezvous = impl->guard("the rendezvous at " + where);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    const std::string why = first_line(e);
    if (env.rank == 0)
      throw Error("rank 0: cannot serve the rendezvous at MASTER_ADDR:MASTER_PORT = " + where +
                  " (port in use or address not local?) or not all WORLD_SIZE = " + std::to_string(env.world_size) +
                  " ranks arrived within " + seconds_text(options.timeout_seconds) + " (" + why + ")");
    throw Error("rank " + std::to_string(env.rank) + ": cannot reach the master at MASTER_ADDR:MASTER_PORT = " + where +
                " within trainer.dist_timeout (" + seconds_text(options.timeout_seconds) + "): " + why);
  }

  try {
#ifdef FACTORCH_WITH_NCCL
    if (backend == "nccl") {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, o);
    }
#endif
    if (backend == "gloo") {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      // One worker thread: collectives are waited for at once (trainer.threads stays honest).
      o->threads = 1;
      const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
      if (iface && *iface) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
      } else if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, o);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + ": cannot create the " + backend + " process group of " +
                std::to_string(env.world_size) + " ranks through " + where + ": " + first_line(e));
  }
  return std::shared_ptr<Communicator>(new Communicator(std::move(impl)));
}

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return impl_->env.rank; }
int Communicator::world_size() const { return impl_->env.world_size; }
int Communicator::local_rank() const { return impl_->env.local_rank; }
const std::string& Communicator::backend() const { return impl_->backend; }

void Communicator::all_reduce_sum(torch::Tensor& t) {
  bytes_all_reduced_ += static_cast<int64_t>(t.numel() * t.element_size());
  if (world_size() == 1) return;
  // Gloo here is built without CUDA: reduce a host copy of device tensors.
  const bool via_host = t.is_cuda() && impl_->backend == "gloo";
  std::vector<at::Tensor> buffer{via_host ? t.cpu() : t.contiguous()};
  impl_->run("all-reduce", [&](auto& pg) { pg.allreduce(buffer)->wait(); });
  if (!buffer[0].is_same(t)) t.copy_(buffer[0]);
}

torch::Tensor Communicator::all_gather(const torch::Tensor& local, int64_t dim, const std::vector<int64_t>& counts) {
  require(static_cast<int>(counts.size()) == world_size(), "all_gather: one count per rank needed");
  if (world_size() == 1) return local;
  int64_t widest = 0;
  for (int64_t c : counts) widest = std::max(widest, c);
  const bool via_host = local.is_cuda() && impl_->backend == "gloo";
  const torch::Tensor mine = via_host ? local.cpu() : local;
  std::vector<int64_t> shape(mine.sizes().begin(), mine.sizes().end());
  shape[dim] = widest;
  torch::Tensor padded = torch::zeros(shape, mine.options());
  padded.narrow(dim, 0, mine.size(dim)).copy_(mine);
  std::vector<at::Tensor> input{padded};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < world_size(); ++r) output[0].push_back(torch::empty(shape, mine.options()));
  impl_->run("all-gather", [&](auto& pg) { pg.allgather(output, input)->wait(); });
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world_size(); ++r) parts.push_back(output[0][r].narrow(dim, 0, counts[r]));
  return torch::cat(parts, dim).to(local.device());
}

void Communicator::require_same(const std::string& what, const std::string& value) {
  const std::string prefix = "factorch/same/" + std::to_string(impl_->same_calls++) + "/";
  std::vector<std::string> values;
  const Armed armed = impl_->guard("comparing " + what);
  try {
    impl_->store->set(prefix + std::to_string(rank()), std::vector<uint8_t>(value.begin(), value.end()));
    for (int r = 0; r < world_size(); ++r) {
      const std::vector<uint8_t> v = impl_->store->get(prefix + std::to_string(r));
      values.emplace_back(v.begin(), v.end());
    }
    // Rank 0 serves the store: it leaves only when every rank has read every value, so a
    // mismatch is reported by every rank rather than as a lost connection.
    impl_->store->set(prefix + "read/" + std::to_string(rank()), std::vector<uint8_t>{1});
    if (rank() == 0) {
      std::vector<std::string> read;
      for (int r = 0; r < world_size(); ++r) read.push_back(prefix + "read/" + std::to_string(r));
      impl_->store->wait(read);
    }
  } catch (const std::exception& e) {
    impl_->fail("comparing " + what, e);
  }
  for (int r = 1; r < world_size(); ++r) {
    if (values[r] != values[0])
      throw Error("rank " + std::to_string(rank()) + ": ranks 0 and " + std::to_string(r) + " have different " + what +
                  " (" + values[0] + " vs " + values[r] + "): every rank must be started with the same config, "
                  "overrides and data");
  }
}

void Communicator::barrier() {
  if (world_size() == 1) return;
  impl_->run("barrier", [&](auto& pg) { pg.barrier()->wait(); });
}

#else  // built without c10d / Gloo headers

struct Communicator::Impl {};
bool Communicator::available() { return false; }
std::shared_ptr<Communicator> Communicator::connect(const LaunchEnv&, const CommunicatorOptions&) {
  throw Error("this factorch was built without data-parallel support: the Gloo headers were missing at build time "
              "(Debian: apt-get install libgloo-dev, then re-run cmake)");
}
Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return 0; }
int Communicator::world_size() const { return 1; }
int Communicator::local_rank() const { return 0; }
const std::string& Communicator::backend() const {
  static const std::string none = "none";
  return none;
}
void Communicator::all_reduce_sum(torch::Tensor&) {}
torch::Tensor Communicator::all_gather(const torch::Tensor& local, int64_t, const std::vector<int64_t>&) { return local; }
void Communicator::require_same(const std::string&, const std::string&) {}
void Communicator::barrier() {}

#endif

}  // namespace factorch::distributed
