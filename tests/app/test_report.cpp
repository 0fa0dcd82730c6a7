// The run report (src/app/report*.cpp): the figures each model's files give (read back from
// the PNGs), the page's metric cells, `factorch report`, and the page in headless Chromium.
// The figures themselves: tests/plot/test_figure.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "app/experiments/implicit_nmf_entry.h"
#include "app/report.h"
#include "factorch/eval/table.h"
#include "factorch/io/npy.h"
#include "factorch/io/png.h"
#include "factorch/io/wav.h"
#include "factorch/separation/separation_step.h"

#include "../test_support.h"
#include "../png_pixels.h"

namespace {

namespace fs = std::filesystem;
using namespace factorch;

using testkit::Png;
using testkit::read_png;

// A run directory written by hand: the report draws exactly the figures its files allow.
class RunReport : public ::testing::Test {
 protected:
  void config(const std::string& type, const std::string& data) {
    testkit::write_text(dir / "config.resolved.yaml", "model:\n  type: " + type + "\ndata:\n" + data + "output:\n  dir: x\n");
  }
  void history() { testkit::write_text(dir / "history.csv", "iter,objective,rel_change,seconds\n0,10,nan,0\n1,5,0.5,0.1\n2,4,0.2,0.2\n"); }
  void wav(const std::string& name, double seconds, int rate = 5000) {
    io::write_wav(dir / name, 0.3 * torch::sin(torch::arange(int64_t(seconds * rate), torch::kFloat64) * 0.55), rate);
  }
  std::vector<std::string> files() {
    std::vector<std::string> out;
    for (const auto& f : app::write_report_figures(dir.path().string())) out.push_back(f.file);
    return out;
  }
  testkit::TempDir dir;
};

TEST_F(RunReport, SeparationRunGetsSpectrogramsFactorsObjectiveAndMetricCells) {
  config("nmf", "  transform: {n_fft: 256, hop: 64}\n");
  history();
  wav("mixture.wav", 0.5);
  wav("sources/note1.wav", 0.5);
  wav("sources/note2.wav", 0.5);
  io::save_npy(dir / "factors/W.npy", torch::rand({129, 4}, torch::kFloat64));
  io::save_npy(dir / "factors/H.npy", torch::rand({4, 40}, torch::kFloat64));
  testkit::write_text(dir / "metrics.json", R"({"metric": "bss_eval_sources", "sources": [
    {"reference": "note1", "estimate": "note1", "sdr": 12.345678, "sir": "inf", "sar": 0.000123}],
    "mean": {"sdr": 12.345678}, "permutation": [0]})");
  const std::string page = app::write_run_report(dir.path().string());
  EXPECT_EQ(files(), (std::vector<std::string>{"figures/spectrogram_0.png", "figures/spectrogram_1.png",
                                               "figures/spectrogram_2.png", "figures/W.png", "figures/H.png",
                                               "figures/objective.png"}));
  const std::string html = testkit::read_text(page);
  for (const char* src : {"src=\"mixture.wav\"", "src=\"sources/note1.wav\"", "src=\"sources/note2.wav\"",
                          "src=\"figures/W.png\"", "src=\"figures/objective.png\""})
    EXPECT_NE(html.find(src), std::string::npos) << src;
  EXPECT_NE(html.find("data-key=\"sources/0/sdr\">12.35<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"sources/0/sir\">inf<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"sources/0/sar\">0.000123<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"permutation/0\">0<"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "the page needs no script";
  EXPECT_EQ(html.find("http"), std::string::npos) << "the page must not reach the network";
  const Png w = read_png(dir / "figures/W.png");
  EXPECT_GE(w.width, 600) << "figures are sized for reading";
}

TEST_F(RunReport, TlnmfAtomsInnmfTemplatesDlnmfScoreBars) {
  config("tlnmf", "  synthetic: {signal: harmonic_notes, sample_rate: 5000}\n  transform: {n_fft: 64, hop: 32}\n");
  wav("sources/mixture.wav", 0.3);
  const torch::Tensor Q = std::get<0>(torch::linalg_qr(torch::randn({64, 64}, torch::kFloat64)));
  io::save_npy(dir / "factors/Phi.npy", Q);
  // Each figure draws its data: the share of coloured pixels (not frame, text, background),
  // measured 0.054 (atoms), 0.112 (atom spectra), 0.626 (W), 0.130 (templates), 0.348
  // (score bars); a blank or frame-only figure has none. Bounds at 3/4 of these.
  auto coloured = [&](const std::string& f) {
    const Png png = read_png(dir / f);
    if (png.width == 0) return 0.0;
    const double share = static_cast<double>(testkit::coloured_pixels(png)) / png.rgb.size();
    std::printf("%s: %.3f of the pixels coloured\n", f.c_str(), share);
    return share;
  };
  const auto tl = files();
  EXPECT_NE(std::find(tl.begin(), tl.end(), "figures/atoms.png"), tl.end());
  EXPECT_NE(std::find(tl.begin(), tl.end(), "figures/atom_spectra.png"), tl.end());
  EXPECT_GT(coloured("figures/atoms.png"), 0.04);
  EXPECT_GT(coloured("figures/atom_spectra.png"), 0.084);
  // The atoms are Φ's rows: another Φ, another picture.
  const Png atoms = read_png(dir / "figures/atoms.png");
  io::save_npy(dir / "factors/Phi.npy", torch::flip(Q, {0}));
  files();
  EXPECT_NE(read_png(dir / "figures/atoms.png").rgb, atoms.rgb);

  fs::remove_all(dir.path() / "factors");
  fs::remove_all(dir.path() / "sources");
  config("innmf", "  synthetic: {signal: note_sequence, sample_rate: 8000}\n  transform: {n_fft: 64, hop: 0, exponent: 0.5}\n");
  io::save_npy(dir / "factors/W.npy", torch::rand({33, 2}, torch::kFloat64));
  io::save_npy(dir / "factors/frequencies.npy", torch::linspace(0, 4000, 33, torch::kFloat64));
  io::save_npy(dir / "dictionary/W_fine.npy", torch::rand({200, 2}, torch::kFloat64));
  io::save_npy(dir / "dictionary/frequencies_fine.npy", torch::linspace(0, 4000, 200, torch::kFloat64));
  EXPECT_EQ(files(), (std::vector<std::string>{"figures/W.png", "figures/templates.png"}));
  EXPECT_GT(coloured("figures/W.png"), 0.47);
  EXPECT_GT(coloured("figures/templates.png"), 0.098);
  EXPECT_FALSE(fs::exists(dir.path() / "figures/atoms.png")) << "figures of an older report must not linger";

  fs::remove_all(dir.path() / "factors");
  fs::remove_all(dir.path() / "dictionary");
  config("dlnmf", "  transform: {n_fft: 64, hop: 16, exponent: 1}\n");
  // DL-NMF's comparison in metrics.json's details: a long table, one row per method and source.
  testkit::write_text(dir / "metrics.json", R"({"schema": "factorch-metrics/1", "sources": [], "baselines": {},
    "details": {"comparison": {"rows": [
    {"method": "NMF", "layers": "20", "source": "low", "sdr": 9.1}, {"method": "NMF", "layers": "20", "source": "high", "sdr": 9.5},
    {"method": "NMF", "layers": "20", "source": "mean", "sdr": 9.3},
    {"method": "DL-NMF", "layers": "180,20", "source": "low", "sdr": 10.1},
    {"method": "DL-NMF", "layers": "180,20", "source": "high", "sdr": 11.5},
    {"method": "DL-NMF", "layers": "180,20", "source": "mean", "sdr": 10.8}]}}})");
  EXPECT_EQ(files(), (std::vector<std::string>{"figures/scores.png"}));
  EXPECT_GT(coloured("figures/scores.png"), 0.26);
  const std::string html = testkit::read_text(app::write_run_report(dir.path().string()));
  EXPECT_NE(html.find("data-key=\"details/comparison/rows/4/sdr\">11.50<"), std::string::npos) << html.substr(0, 4000);
}

// A run of several mixtures as the separation step writes it (mixtures/<m>.wav,
// sources/<m>/<name>.wav, baselines/<b>/sources/<m>/<name>.wav): the page plays every WAV of
// the run, one table per mixture holding exactly that mixture's files. (The page had players
// for the mixtures only: 2 of the 10 WAVs here.)
TEST_F(RunReport, SeveralMixturesGetAPlayerForEveryMixtureAndSourceGroupedByMixture) {
  config("tlnmf", "  transform: {n_fft: 64, hop: 32}\n");
  const int rate = 4000;
  const auto tone = [&](double f) { return torch::sin(torch::arange(2000, torch::kFloat64) * (2 * M_PI * f / rate)); };
  std::vector<separation::SeparatedMixture> mixtures;
  separation::BaselineSeparation baseline{"dct_nmf", {}};
  for (const std::string m : {"realisation2", "realisation10"}) {
    const torch::Tensor refs = torch::stack({tone(440), tone(466)});
    mixtures.push_back({m, {"note1", "note2"}, refs * 0.9, refs, {}, refs.sum(0)});
    baseline.mixtures.push_back({"", {"note1", "note2"}, refs * 0.8, {}, {}, {}});
  }
  separation::SeparationStepOptions o;
  o.out_dir = dir.path().string();
  o.sample_rate = rate;
  o.quiet = true;
  separation::run_separation_step(mixtures, o, {baseline});
  const std::string html = testkit::read_text(app::write_run_report(dir.path().string()));

  const auto sources_in = [](const std::string& part) {
    std::set<std::string> out;
    for (size_t at = part.find("<audio"); at != std::string::npos; at = part.find("<audio", at + 1)) {
      const size_t from = part.find("src=\"", at) + 5;
      out.insert(part.substr(from, part.find('"', from) - from));
    }
    return out;
  };
  std::set<std::string> wavs;
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    if (e.path().extension() == ".wav") wavs.insert(e.path().lexically_relative(dir.path()).generic_string());
  ASSERT_EQ(wavs.size(), 10u);
  EXPECT_EQ(sources_in(html), wavs);
  size_t players = 0;
  for (size_t at = html.find("<audio"); at != std::string::npos; at = html.find("<audio", at + 1)) ++players;
  EXPECT_EQ(players, wavs.size()) << "one player per WAV";
  // Natural order (realisation2 before realisation10), each group only its own files.
  const size_t second = html.find("data-mixture=\"realisation2\""), tenth = html.find("data-mixture=\"realisation10\"");
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(tenth, std::string::npos);
  EXPECT_LT(second, tenth);
  for (const std::string m : {"realisation2", "realisation10"}) {
    const size_t from = html.find("data-mixture=\"" + m + "\"");
    const std::string group = html.substr(from, html.find("</table>", from) - from);
    EXPECT_EQ(sources_in(group), (std::set<std::string>{"mixtures/" + m + ".wav", "sources/" + m + "/note1.wav",
                                                        "sources/" + m + "/note2.wav",
                                                        "baselines/dct_nmf/sources/" + m + "/note1.wav",
                                                        "baselines/dct_nmf/sources/" + m + "/note2.wav"}))
        << m;
    EXPECT_NE(html.find("<h3>Mixture " + m + "</h3>"), std::string::npos) << m;
  }
  // metrics.json's per-mixture documents: one long table (name, source, estimate, sdr, sir,
  // sar), one row per mixture and source plus each mean, not one row per mixture of 15+ columns.
  const size_t per_mixture = html.find("<caption>mixtures</caption>");
  ASSERT_NE(per_mixture, std::string::npos);
  const std::string header = html.substr(per_mixture, html.find("</tr>", per_mixture) - per_mixture);
  EXPECT_EQ(header.substr(header.find("<tr>")), "<tr><th>name</th><th>source</th><th>estimate</th><th>sdr</th><th>sir</th><th>sar</th>");
  // Every value of metrics.json (its per-mixture rows included) has its cell, and a browser
  // loads every player (77: no headless Chromium here).
  const int status = testkit::run_python(std::string(testkit::kSourceDir) + "/tests/app/check_report_in_browser.py",
                                         dir.path().string());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_TRUE(code == 0 || code == 77) << "the report checker failed (its FAIL lines are above)";
}

// iN-NMF's `factorch separate` at several window sizes writes the first size in the run
// directory and each further one in n_fft<N>/ (sources/*.wav, metrics.json, through the same
// separation step): the page plays those sources too, one group per folder, and shows their
// metrics. (Before, only the first size's WAVs had players.)
TEST_F(RunReport, NestedSeparationsGetTheirPlayersAndMetrics) {
  config("innmf", "  transform: {n_fft: 64, hop: 0}\n");
  const int rate = 4000;
  const torch::Tensor refs =
      torch::stack({torch::sin(torch::arange(2000, torch::kFloat64) * 0.69), torch::sin(torch::arange(2000, torch::kFloat64) * 0.73)});
  for (const std::string sub : {"", "n_fft512", "n_fft1024"}) {
    separation::SeparationStepOptions o;
    o.out_dir = (dir.path() / sub).string();
    o.sample_rate = rate;
    o.quiet = true;
    separation::run_separation_step({{"", {"voice", "noise"}, refs * 0.9, refs, {}, {}}}, o);
  }
  io::write_wav(dir / "mixture.wav", refs.sum(0), rate);
  const std::string html = testkit::read_text(app::write_run_report(dir.path().string()));
  std::set<std::string> wavs, played;
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    if (e.path().extension() == ".wav") wavs.insert(e.path().lexically_relative(dir.path()).generic_string());
  for (size_t at = html.find("<audio"); at != std::string::npos; at = html.find("<audio", at + 1)) {
    const size_t from = html.find("src=\"", at) + 5;
    played.insert(html.substr(from, html.find('"', from) - from));
  }
  ASSERT_EQ(wavs.size(), 7u);
  EXPECT_EQ(played, wavs);
  for (const std::string sub : {"n_fft512", "n_fft1024"}) {
    const size_t from = html.find("<h3>" + sub + "/</h3>");
    ASSERT_NE(from, std::string::npos) << sub;
    const std::string group = html.substr(from, html.find("</table>", from) - from);
    EXPECT_NE(group.find("src=\"" + sub + "/sources/voice.wav\""), std::string::npos) << group;
    EXPECT_NE(html.find("data-file=\"" + sub + "/metrics.json\""), std::string::npos) << sub;
  }
  EXPECT_LT(html.find("<h3>n_fft512/</h3>"), html.find("<h3>n_fft1024/</h3>")) << "natural order";
}

// iN-NMF's separation.json, as separation_report writes it (innmf::separation_table), is one
// long table of a few columns, rendered as every table is: one row per size, method and
// source plus each mean, every score in its cell. (It was one row per size with 37 columns
// that overflowed the page, then a renderer of its own.)
TEST_F(RunReport, SeparationJsonIsALongTableOfAFewColumns) {
  config("innmf", "  transform: {n_fft: 64, hop: 0}\n");
  const auto scores = [](double base) {
    eval::MetricsTable t;
    t.names = {"source1", "source2"};
    t.estimates = {"x", "y"};  // renamed by position
    t.permutation = {1, 0};
    t.sdr = {base, base + 1}, t.sir = {20.0, 21.0}, t.sar = {base + 2, base + 3};
    return t;
  };
  std::vector<innmf::SeparationAtSize> results;
  for (const int64_t n_fft : {256, 512, 1024}) {
    innmf::SeparationAtSize r;
    r.n_fft = n_fft;
    r.has_metrics = r.has_baseline = true;
    r.innmf = scores(n_fft / 256.0 + 0.25);  // exact in binary: the JSON shows them as written
    r.nmf = scores(n_fft / 512.0 + 0.25);
    results.push_back(r);
  }
  eval::write_table(innmf::separation_table(512, results), dir.path().string());
  const auto json = nlohmann::ordered_json::parse(testkit::read_text(dir / "separation.json"));  // key order kept
  EXPECT_EQ(json["trained_n_fft"], 512);
  EXPECT_EQ(json["scores"][10].dump(), R"({"n_fft":512,"method":"nmf","source":"source2","estimate":"estimate1","sdr":2.25,"sir":21.0,"sar":4.25})");
  const std::string html = testkit::read_text(app::write_run_report(dir.path().string()));
  const size_t from = html.find("data-file=\"separation.json\"");
  ASSERT_NE(from, std::string::npos);
  const std::string part = html.substr(from, html.find("</div>", from) - from);
  const size_t grid = part.find("<table class=\"grid\">");
  ASSERT_NE(grid, std::string::npos);
  const std::string table = part.substr(grid, part.find("</table>", grid) - grid);
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(part, "<table class=\"grid\">"), 1u);
  // n_fft, method, source, estimate, sdr, sir, sar.
  EXPECT_EQ(count(table, "<th>"), 7u) << table.substr(0, 600);
  EXPECT_EQ(count(table, "<tr>"), 1u + 3 * 2 * 3) << "header, then 3 sizes × 2 methods × (2 sources + mean)";
  // Every score keeps its JSON path (row 16: 1024, nmf, source2); the means are rows too.
  EXPECT_NE(table.find("data-key=\"scores/16/sar\">5.25<"), std::string::npos) << table;
  EXPECT_NE(table.find("data-key=\"scores/2/source\">mean<"), std::string::npos);
  EXPECT_NE(table.find("data-key=\"scores/2/sdr\">1.75<"), std::string::npos);
  // The table's attributes are said once, above it.
  EXPECT_LT(part.find("data-key=\"trained_n_fft\">512<"), grid);
  EXPECT_LT(part.find("data-key=\"metric\">bss_eval_sources<"), grid);
}

TEST_F(RunReport, NotARunDirectoryIsOneClearErrorAndWritesNothing) {
  const std::string msg = testkit::error_of([&] { app::write_run_report(dir.path().string()); });
  EXPECT_NE(msg.find("not a run directory"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir.path() / "report.html"));
  EXPECT_FALSE(fs::exists(dir.path() / "figures"));
}

// The quick-start demo end to end: `factorch separate` writes the page, `factorch report`
// rebuilds it byte for byte, and headless Chromium plays and shows what it links.
TEST(RunReportCli, SeparateWritesReportRebuiltByReportCommandAndCheckedInChromium) {
  testkit::TempDir dir;
  const std::string config = std::string(testkit::kSourceDir) + "/configs/nmf_separate_toy.yaml";
  const auto run = testkit::run_factorch("separate \"" + config + "\" --out run --quiet", dir.path().string());
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("report: run/report.html"), std::string::npos) << run.out;
  const std::string first = testkit::read_text(dir / "run/report.html");
  for (const char* f : {"run/mixture.wav", "run/sources/note1.wav", "run/figures/spectrogram_0.png", "run/figures/W.png"})
    EXPECT_TRUE(fs::exists(dir.path() / f)) << f;

  fs::remove(dir.path() / "run/report.html");
  fs::remove_all(dir.path() / "run/figures");
  const auto rebuilt = testkit::run_factorch("report run", dir.path().string());
  ASSERT_EQ(rebuilt.status, 0) << rebuilt.err;
  EXPECT_EQ(testkit::read_text(dir / "run/report.html"), first);
  const auto bad = testkit::run_factorch("report nowhere", dir.path().string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "factorch: error: nowhere: not a directory\n");

  // The checker refuses a page without its players or without its metrics table, browser or
  // not (status 1, not the skip status 77).
  const std::string checker = std::string(testkit::kSourceDir) + "/tests/app/check_report_in_browser.py";
  ASSERT_TRUE(fs::exists(dir.path() / "run/metrics.json"));
  ASSERT_NE(first.find("<audio"), std::string::npos);
  auto erase_all = [](std::string html, const std::string& open, const std::string& close) {
    for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at))
      html.erase(at, html.find(close, at) + close.size() - at);
    return html;
  };
  for (const auto& [name, html] : {std::pair<std::string, std::string>{"no_audio", erase_all(first, "<audio", "</audio>")},
                                   {"no_metrics", erase_all(first, "<div class=\"metrics\" data-file=\"metrics.json\"", "</div>")}}) {
    ASSERT_NE(html, first) << name;
    fs::copy(dir.path() / "run", dir.path() / name, fs::copy_options::recursive);
    testkit::write_text(dir / (name + "/report.html"), html);
    const int broken = testkit::run_python(checker, dir / name);
    EXPECT_EQ(WIFEXITED(broken) ? WEXITSTATUS(broken) : -1, 1) << name;
  }
  const int status = testkit::run_python(checker, (dir / "run"));
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 77) GTEST_SKIP() << "headless Chromium check skipped: chromium, chromium-driver or python3-selenium "
                                  "not installed (tools/test.sh installs them)";
  EXPECT_EQ(code, 0) << "the browser check failed (its FAIL lines are above)";
}

}  // namespace
