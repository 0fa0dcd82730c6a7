// configs/tlnmf_toy.yaml, cut down (2 realisations, 2 repetitions, 20 iterations), run as a
// user runs it: every repetition is announced from 1/2, the last progress line is printed
// once, the files its comment lists are the files it writes, and README, stdout, metrics.json
// and the report agree on how many atoms are shown.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../test_support.h"

namespace fs = std::filesystem;
using namespace factorch;

namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The output files a config's comment lines name ("….wav", "….png"), <r> and <k> expanded
// over realisations 1…R and components 1…K, relative to output.dir.
std::set<std::string> documented_files(const std::string& config, int64_t R, int64_t K) {
  std::set<std::string> out;
  std::istringstream lines(config);
  const std::regex file(R"([A-Za-z0-9_.<>/-]+\.(wav|png))");
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#", 0) != 0) continue;
    for (std::sregex_iterator m(line.begin(), line.end(), file), end; m != end; ++m) {
      std::string pattern = m->str();
      if (pattern.rfind("output.dir/", 0) == 0) pattern = pattern.substr(11);
      for (int64_t r = 1; r <= R; ++r)
        for (int64_t k = 1; k <= K; ++k)
          out.insert(std::regex_replace(std::regex_replace(pattern, std::regex("<r>"), std::to_string(r)),
                                        std::regex("<k>"), std::to_string(k)));
    }
  }
  return out;
}

}  // namespace

TEST(TLNMFToyRun, AnnouncesEveryRepetitionAndWritesWhatItsCommentSays) {
  testkit::TempDir dir;
  const std::string config_path = std::string(testkit::kSourceDir) + "/configs/tlnmf_toy.yaml";
  const int64_t R = 2, K = 2;  // data.synthetic.realisations as set below, model.rank of the config
  // 1 restart and 20 iterations: seconds instead of half an hour; the text is what is checked.
  const testkit::CommandResult run = testkit::run_factorch(
      "train \"" + config_path + "\" --set model.repeats=2 --set data.synthetic.realisations=" + std::to_string(R) +
          " --set model.restarts=1 --set model.warmup=2 --set trainer.max_iter=20 --set trainer.progress=always"
          " --set output.dir=run",
      dir.path().string());
  ASSERT_EQ(run.status, 0) << run.out << run.err;

  // Every repetition announced, in order, from the run's own (1/2).
  const size_t first = run.err.find("tlnmf: repetition 1/2: TL-NMF "), second = run.err.find("tlnmf: repetition 2/2: TL-NMF ");
  ASSERT_NE(first, std::string::npos) << run.err;
  ASSERT_NE(second, std::string::npos) << run.err;
  EXPECT_LT(first, second);
  EXPECT_EQ(count(run.err, "tlnmf: repetition "), 2) << run.err;
  // The last progress record once (it was also printed again with "0.0 it/s").
  EXPECT_EQ(count(run.err, "iter 20/20 "), 1) << run.err;
  EXPECT_EQ(count(run.err, " 0.0 it/s"), 0) << run.err;

  // The comment's files are the run's files, and the run writes no separated audio it does not list.
  const std::set<std::string> listed = documented_files(testkit::read_text(config_path), R, K);
  ASSERT_FALSE(listed.empty());
  for (const std::string& f : listed) EXPECT_TRUE(fs::exists(dir.path() / "run" / f)) << f << " (named in " << config_path << ")";
  for (const char* folder : {"sources", "mixtures", "baselines/dct_nmf/sources"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir.path() / "run" / folder)) {
      if (!e.is_regular_file()) continue;
      EXPECT_EQ(listed.count(fs::relative(e.path(), dir.path() / "run").string()), 1u)
          << e.path() << " is written but not named in the comment of " << config_path;
    }
  }
  // stdout numbers components as the files do (component1, component2).
  for (int64_t k = 1; k <= K; ++k) EXPECT_NE(run.out.find("tlnmf: component " + std::to_string(k) + ": main atom"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("tlnmf: component 0:"), std::string::npos) << run.out;

  // One atom count everywhere: the README's TL-NMF lines, stdout, metrics.json, report.html.
  const std::string readme = testkit::read_text(std::string(testkit::kSourceDir) + "/README.md");
  const std::regex atoms(R"(the (\d+) most energetic atoms)");
  std::set<std::string> readme_counts;
  for (std::sregex_iterator m(readme.begin(), readme.end(), atoms), end; m != end; ++m) readme_counts.insert((*m)[1].str());
  ASSERT_EQ(readme_counts.size(), 1u) << "README gives several atom counts";
  const std::string n = *readme_counts.begin();
  EXPECT_NE(run.out.find("peak frequency of the " + n + " most energetic atoms"), std::string::npos) << run.out;
  const auto metrics = nlohmann::json::parse(testkit::read_text(dir / "run/metrics.json"));
  EXPECT_EQ(std::to_string(metrics["details"]["atom_frequencies_hz"].size()), n);
  EXPECT_NE(testkit::read_text(dir / "run/report.html").find("The " + n + " most energetic learnt atoms"), std::string::npos);
}
