#include <cstdio>
#include <memory>
#include <optional>

#include "cli_support.h"
#include "app/run.h"
#include "app/config.h"
#include "factorch/distributed/communicator.h"
#include "factorch/distributed/launch.h"
#include "app/report.h"
#include "factorch/train/checkpoint.h"
#include "cli/runs.h"

namespace factorch::cli {

namespace {
const char* kTrainHelp =
    "usage: factorch train CONFIG.yaml [--set key.path=value]... [--out DIR] [--device cpu|cuda]\n"
    "                      [--dtype float32|float64] [--resume DIR/checkpoint.pt] [--quiet] [--nproc N]\n"
    "\n"
    "Trains the model described by CONFIG and writes DIR/config.resolved.yaml, history.csv,\n"
    "checkpoint.pt, factors/*.npy, factors.pt and report.html (DIR = output.dir or --out).\n"
    "--resume continues a checkpoint (same model type and sizes; device, dtype, data and\n"
    "max_iter may change). model.init_from starts a new run from learnt factors instead.\n"
    "\n"
    "Data-parallel training (nmf, online_nmf, multichannel_nmf, lnmf, tlnmf, innmf; see\n"
    "docs/distributed.md): --nproc N starts N local workers, each reading its share of the\n"
    "frames or samples; or launch like torchrun, which sets RANK, WORLD_SIZE,\n"
    "LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun --nproc_per_node N --no_python factorch\n"
    "train CONFIG). Rank 0 writes the outputs, laid out as a single-process run's; a checkpoint\n"
    "resumes on any number of ranks. trainer.threads is per rank; trainer.dist_backend and\n"
    "trainer.dist_timeout choose the backend and how long a rank waits for the others.\n"
    "Every key: factorch config.\n";
}  // namespace

int train(const Args& args) {
  return guarded([&] {
    std::string config_path;
    std::vector<std::string> overrides, origins;
    app::RunOptions options;
    int nproc = 0;
    Args worker_args{"train"};  // what --nproc's workers get: the same command without --nproc
    ArgScanner a(args, "train");
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::fputs(kTrainHelp, stdout);
        return 0;
      } else if (arg == "--nproc") {
        const std::string n = a.value();
        try {
          size_t used = 0;
          nproc = std::stoi(n, &used);
          if (used != n.size()) nproc = 0;
        } catch (const std::exception&) {
          nproc = 0;
        }
        if (nproc < 1) throw Error("train: --nproc must be a positive integer, got '" + n + "'");
        continue;
      } else if (scan_run_option(a, overrides, origins, options)) {
      } else if (arg == "--resume") {
        options.resume = a.value();
      } else if (arg.rfind("-", 0) == 0) {
        a.unknown();
      } else if (config_path.empty()) {
        config_path = arg;
      } else {
        throw UsageError("train", "more than one config file given ('" + config_path + "', '" + arg + "')");
      }
    }
    if (config_path.empty()) throw UsageError("train", "needs a CONFIG.yaml");
    // Launch variables are checked first: a bad launch is reported whatever the config says.
    const std::optional<distributed::LaunchEnv> launch = distributed::launch_env_from_environment();
    if (nproc > 0 && launch)
      throw Error("train: --nproc starts its own workers but RANK/WORLD_SIZE are set (launched by torchrun?): use one");
    const Config config = Config::load(config_path, overrides, origins);
    if (nproc > 0) {
      // The config is valid (checked once here, not N times); each worker re-reads it. What
      // else can be known without data is checked here too, so that it is reported once.
      app::check_data_parallel(config);
      if (options.resume) app::check_resume(config, io::load_checkpoint(*options.resume), *options.resume);
      for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--nproc") {
          ++i;
          continue;
        }
        worker_args.push_back(args[i]);
      }
      return distributed::spawn_local_workers(nproc, worker_args);
    }
    if (launch) {
      distributed::CommunicatorOptions co;
      co.backend = config.string("trainer.dist_backend");
      co.timeout_seconds = config.number("trainer.dist_timeout");
      co.device = config.string("trainer.device");
      // Kept alive to the end of the process: a process group torn down while a failed peer
      // is still half-connected can block in its destructor (main() exits without it).
      options.communicator = *new std::shared_ptr<distributed::Communicator>(distributed::Communicator::connect(*launch, co));
    }
    const TrainOutcome trained = train_config(config, options, !(launch && launch->rank != 0));
    const app::RunResult& run = trained.run;
    if (!run.result.ok) {
      std::fprintf(stderr, "factorch: error: %s; the last finite state is in %s/checkpoint.pt\n",
                   run.result.stop_reason.c_str(), run.out_dir.c_str());
      return 3;
    }
    if (launch && launch->rank != 0) return 0;  // rank 0 speaks for the run
    std::printf("%s: objective %.10g after %lld iterations (%s); outputs in %s\n", config.string("model.type").c_str(),
                run.result.objective, static_cast<long long>(run.result.iterations), run.result.stop_reason.c_str(),
                run.out_dir.c_str());
    if (!trained.report.empty()) std::printf("report: %s\n", trained.report.c_str());
    return 0;
  });
}

}  // namespace factorch::cli
