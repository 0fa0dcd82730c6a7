#include <cstdio>

#include "cli_support.h"
#include "app/config.h"
#include "app/data_block.h"

namespace factorch::cli {

int config(const Args& args) {
  return guarded([&] {
    std::string section;
    for (const std::string& a : args) {
      if (a == "--help" || a == "-h") {
        std::puts("usage: factorch config [model|data|trainer|output]\n"
                  "Documents every configuration key: type, range or choices, default, models it applies to.");
        return 0;
      }
      if (!section.empty()) throw UsageError("config", "takes at most one SECTION, got '" + section + "' and '" + a + "'");
      section = a;
    }
    if (!section.empty() && section != "model" && section != "data" && section != "trainer" && section != "output")
      throw UsageError("config", "unknown section '" + section + "' (model, data, trainer, output)");
    std::fputs(config_schema().document(section).c_str(), stdout);
    if (section.empty() || section == "data")
      std::printf("\nembedded signals (data.synthetic.signal) and the data.synthetic.* parameters each takes, with its "
                  "defaults:\n%s", app::synthetic_signals_doc().c_str());
    return 0;
  });
}

}  // namespace factorch::cli
