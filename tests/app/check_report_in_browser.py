#!/usr/bin/env python3
"""Opens RUN_DIR/report.html in headless Chromium (Selenium + chromedriver) and checks:
no console errors, every <img> decoded (naturalWidth > 0), every <audio> loaded its metadata
with the duration of its WAV file, and the metrics tables show every value of metrics.json.
First, without a browser, the page's HTML must have an <audio> player for the run's mixture
and every WAV in sources/, and a metrics table for metrics.json when the run has one
(these fail with status 1 even where the browser check is skipped).

usage: check_report_in_browser.py RUN_DIR [--screenshot PNG [--height PIXELS]]
(--screenshot: the whole page, or its top PIXELS, 1100 pixels wide)
Exit status: 0 pass, 1 fail (one line per problem), 77 skipped (browser or selenium absent).
"""
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import time
import urllib.parse
from html.parser import HTMLParser

SKIP = 77
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)


def wav_duration(path):
    """Seconds of a RIFF/WAVE file from its header (PCM or float, any channel count)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(path + ": not a RIFF/WAVE file")
    pos, rate, block, frames = 12, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            _, _, rate, _, block = struct.unpack("<HHIIH", data[pos + 8:pos + 22])
        elif cid == b"data":  # the samples present, whatever a (truncated) header claims
            frames = min(size, len(data) - pos - 8) // block
        pos += 8 + size + (size & 1)
    return frames / rate


def leaves(node, path=""):
    """(JSON path, value) of every scalar, paths as the report writes them ("sources/0/sdr")."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, k if not path else path + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, str(i) if not path else path + "/" + str(i))
    else:
        yield path, node


def shown_matches(text, value):
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, (int, float)):
        try:
            shown = float(text)
        except ValueError:
            return False
        if math.isnan(value) or math.isinf(value):
            return text == str(value)
        # Two decimals, or three significant digits: the report's rounding, with margin.
        return abs(shown - value) <= 0.0051 + 0.0051 * abs(value)
    if value is None:
        return text == "null"
    return text == str(value)


class PageParts(HTMLParser):
    """The src of every <audio> and the data-file of every metrics table (div.metrics)."""

    def __init__(self):
        super().__init__()
        self.audio, self.tables, self.keys = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "audio" and a.get("src"):
            self.audio.append(urllib.parse.unquote(a["src"]))
        if tag == "div" and "metrics" in (a.get("class") or "").split():
            self.tables.append(a.get("data-file"))
        if "data-key" in a:
            self.keys.append(a["data-key"])


def static_problems(run_dir):
    """What the page's HTML lacks, without a browser."""
    with open(os.path.join(run_dir, "report.html"), encoding="utf-8") as f:
        page = PageParts()
        page.feed(f.read())
    problems = []
    players = {os.path.normpath(os.path.join(run_dir, src)) for src in page.audio}
    wavs = [os.path.join(run_dir, "mixture.wav")] if os.path.exists(os.path.join(run_dir, "mixture.wav")) else []
    sources = os.path.join(run_dir, "sources")
    if os.path.isdir(sources):  # (the report plays sources/*.wav but its mixture.wav copy once)
        wavs += [os.path.join(sources, n) for n in sorted(os.listdir(sources)) if n.endswith(".wav") and n != "mixture.wav"]
    if wavs and not page.audio:
        problems.append("no <audio> on the page, but the run has %d WAV file(s)" % len(wavs))
    for wav in wavs:
        if os.path.normpath(wav) not in players:
            problems.append("no <audio> plays %s" % os.path.relpath(wav, run_dir))
    metrics = os.path.join(run_dir, "metrics.json")
    if os.path.exists(metrics):
        if "metrics.json" not in page.tables:
            problems.append("no metrics table (div.metrics data-file=\"metrics.json\") on the page")
        else:
            with open(metrics) as f:
                missing = [p for p, _ in leaves(json.load(f)) if p not in page.keys]
            if missing:
                problems.append("metrics.json values without a cell: %s" % ", ".join(missing[:5]))
    return problems


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    run_dir = os.path.abspath(sys.argv[1])
    shot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    shot_height = int(sys.argv[sys.argv.index("--height") + 1]) if "--height" in sys.argv else None
    problems = static_problems(run_dir)
    if problems:
        for p in problems:
            print("FAIL:", p)
        return 1
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
    except ImportError:
        print("SKIP: python3-selenium is not installed (tools/test.sh installs it)")
        return SKIP
    if not CHROMIUM or not DRIVER:
        print("SKIP: chromium / chromedriver not installed (Debian chromium, chromium-driver; tools/test.sh)")
        return SKIP

    profile = tempfile.mkdtemp(prefix="factorch-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                 "--window-size=1100,1500", "--user-data-dir=" + profile):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.set_page_load_timeout(60)
        page = os.path.join(run_dir, "report.html")
        driver.get("file://" + urllib.parse.quote(page))
        # Media elements load asynchronously: wait until each has metadata (or failed).
        deadline = time.time() + 30
        while time.time() < deadline:
            states = driver.execute_script(
                "return Array.from(document.querySelectorAll('audio')).map(a => [a.readyState, !!a.error]);")
            if all(r >= 1 or e for r, e in states):
                break
            time.sleep(0.2)

        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);")
        if not images:
            problems.append("no <img> on the page")
        for src, complete, width in images:
            if not complete or width <= 0:
                problems.append("image %s did not decode (naturalWidth %s)" % (src, width))

        audios = driver.execute_script(
            "return Array.from(document.querySelectorAll('audio')).map(a => "
            "[a.getAttribute('src'), a.readyState, a.duration, a.error ? a.error.code : 0]);")
        for src, ready, duration, error in audios:
            wav = os.path.join(run_dir, urllib.parse.unquote(src))
            expected = wav_duration(wav)
            if error or ready < 1:
                problems.append("audio %s: no metadata (readyState %s, error %s)" % (src, ready, error))
            elif duration is None or abs(duration - expected) > 0.01:
                problems.append("audio %s: duration %s s, the WAV has %.4f s" % (src, duration, expected))

        checked = 0
        metrics = os.path.join(run_dir, "metrics.json")
        if os.path.exists(metrics):
            with open(metrics) as f:
                values = list(leaves(json.load(f)))
            for path, value in values:
                cells = driver.find_elements(
                    By.CSS_SELECTOR, 'div.metrics[data-file="metrics.json"] [data-key="%s"]' % path)
                if len(cells) != 1:
                    problems.append("metrics.json %s: %d cells in the page's table" % (path, len(cells)))
                elif not shown_matches(cells[0].text.strip(), value):
                    problems.append("metrics.json %s = %r but the table shows %r" % (path, value, cells[0].text))
                checked += 1

        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                problems.append("console error: " + entry.get("message", ""))
        if shot:
            height = shot_height or driver.execute_script("return document.documentElement.scrollHeight;")
            driver.set_window_size(1100, min(max(height, 800), 6000))
            driver.save_screenshot(shot)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

    for p in problems:
        print("FAIL:", p)
    print("checked %d image(s), %d audio element(s), %d metrics value(s): %s" %
          (len(images), len(audios), checked, "FAIL" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
