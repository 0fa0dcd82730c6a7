// `factorch report RUN_DIR [--log-frequency]`: rebuilds RUN_DIR/report.html and its figures
// from the files of the run directory.
#include <cstdio>

#include "cli_support.h"
#include "app/report.h"

namespace factorch::cli {

namespace {
const char* kReportHelp =
    "usage: factorch report RUN_DIR [--log-frequency | --linear-frequency]\n"
    "\n"
    "Rebuilds RUN_DIR/report.html and RUN_DIR/figures/*.png from the files of a run directory\n"
    "(config.resolved.yaml, history.csv, metrics.json, factors/*.npy, sources/*.wav, ...).\n"
    "The page is self-contained: open it from the file system, no server or network needed.\n"
    "train, separate and eval write it at the end of a run; this command redraws it, e.g.\n"
    "with --log-frequency (log-scale frequency axes; default: output.log_frequency).\n";
}  // namespace

int report(const Args& args) {
  return guarded([&] {
    std::string dir;
    app::ReportOptions options;
    options.rebuild = true;  // from any working directory: the run's files alone
    ArgScanner a(args, "report");
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::fputs(kReportHelp, stdout);
        return 0;
      } else if (arg == "--log-frequency") {
        options.log_frequency = true;
      } else if (arg == "--linear-frequency") {
        options.log_frequency = false;
      } else if (arg.rfind("-", 0) == 0) {
        a.unknown();
      } else if (dir.empty()) {
        dir = arg;
      } else {
        throw Error("report: more than one run directory given ('" + dir + "', '" + arg + "')");
      }
    }
    if (dir.empty()) {
      std::fputs(kReportHelp, stderr);
      return 1;
    }
    std::printf("wrote %s\n", app::write_run_report(dir, options).c_str());
    return 0;
  });
}

}  // namespace factorch::cli
