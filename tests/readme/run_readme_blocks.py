#!/usr/bin/python3
"""Runs every command of the README's ```sh blocks, in order, as a new user would after the
set-up command: in a scratch copy of the repository whose build/ is this build's (no rebuild).

Markers (in a line's trailing comment) for commands the test cannot or should not run here:
  [setup]  a set-up command (apt, configure, build, the whole suite): the test runs after it
  [gpu]    needs a CUDA GPU (probed: `factorch train ... --device cuda`)
  [audio]  needs the optional audio tools of `tools/setup.sh --audio` (espeak-ng, fluidsynth)
  [clang]  needs clang++ (libFuzzer)
  [long]   minutes of CPU: run with FACTORCH_README_LONG=1 (or --long)
A skipped line is printed with its reason; every other line must exit 0. `bash tools/quickstart.sh`
runs with FACTORCH_SKIP_SETUP=1 (the demo alone, with these binaries).

  /usr/bin/python3 tests/readme/run_readme_blocks.py --source . --build build [--long] [--keep]
(ctest runs it as readme.command_blocks.)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MARKERS = {
    "setup": "a set-up command; this test runs after it",
    "gpu": "needs a CUDA GPU",
    "audio": "needs the audio tools of tools/setup.sh --audio",
    "clang": "needs clang++",
    "long": "a long run: FACTORCH_README_LONG=1 runs it",
}
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


def sh_commands(readme_text):
    """(line number, command) of every ```sh block, continuation lines joined, in order."""
    out = []
    lines = readme_text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        body_start = i + 1
        i += 1
        while i < len(lines) and not (FENCE.match(lines[i]) and FENCE.match(lines[i]).group(2) == ""):
            i += 1
        if lang == "sh":
            pending, first = "", None
            for n in range(body_start, i):
                text = lines[n][len(indent):] if lines[n].startswith(indent) else lines[n].lstrip()
                if first is None:
                    first = n + 1
                if text.rstrip().endswith("\\"):
                    pending += text.rstrip()[:-1] + " "
                    continue
                command = (pending + text).strip()
                pending = ""
                if command and not command.startswith("#"):
                    out.append((first, command))
                first = None
        i += 1  # the closing fence
    return out


def markers(command):
    comment = command.split(" #", 1)[1] if " #" in command else ""
    return [m for m in re.findall(r"\[([a-z]+)\]", comment) if m in MARKERS]


def copy_repo(source, dest):
    """The tracked files (and untracked, not ignored ones) of a git checkout, else the tree."""
    try:
        files = subprocess.run(["git", "-C", source, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               check=True, capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".git", "build*", "runs"))
        return
    for f in filter(None, files):
        src = os.path.join(source, f)
        if not os.path.isfile(src) and not os.path.islink(src):
            continue  # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(dest, f)) or dest, exist_ok=True)
        shutil.copy2(src, os.path.join(dest, f), follow_symlinks=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="the repository (its README.md)")
    ap.add_argument("--build", required=True, help="a build directory with the factorch binaries")
    ap.add_argument("--long", action="store_true", help="also run the lines marked [long]")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = ap.parse_args()
    source, build = os.path.abspath(args.source), os.path.abspath(args.build)
    run_long = args.long or os.environ.get("FACTORCH_README_LONG") == "1"
    with open(os.path.join(source, "README.md"), encoding="utf-8") as f:
        commands = sh_commands(f.read())
    if not commands:
        print("README.md has no ```sh block")
        return 1

    scratch = tempfile.mkdtemp(prefix="factorch_readme_")
    repo = os.path.join(scratch, "factorch")
    copy_repo(source, repo)
    shutil.rmtree(os.path.join(repo, "build"), ignore_errors=True)
    os.symlink(build, os.path.join(repo, "build"))
    os.makedirs(os.path.join(scratch, "home"))
    env = dict(os.environ, HOME=os.path.join(scratch, "home"), FACTORCH_SKIP_SETUP="1", FACTORCH_BUILD_DIR="build")

    def gpu_available():
        probe = subprocess.run(["build/factorch", "train", "configs/nmf_kl.yaml", "--device", "cuda", "--quiet",
                                "--set", "trainer.max_iter=1", "--out", os.path.join(scratch, "gpu_probe")],
                               cwd=repo, env=env, capture_output=True, text=True)
        return probe.returncode == 0

    available = {
        "setup": False,
        "gpu": None,  # probed on first use (costs a run)
        "audio": all(shutil.which(t) for t in ("espeak-ng", "fluidsynth")),
        "clang": shutil.which("clang++") is not None,
        "long": run_long,
    }
    ran = skipped = 0
    start = time.monotonic()
    status = 0
    for line, command in commands:
        missing = []
        for m in markers(command):
            if m == "gpu" and available["gpu"] is None:
                available["gpu"] = gpu_available()
            if not available[m]:
                missing.append(m)
        if missing:
            skipped += 1
            print(f"README.md:{line}: skipped ({'; '.join(MARKERS[m] for m in missing)}): {command}", flush=True)
            continue
        t0 = time.monotonic()
        r = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=repo, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ran += 1
        print(f"README.md:{line}: exit {r.returncode} in {time.monotonic() - t0:.1f} s: {command}", flush=True)
        if r.returncode != 0:
            print(r.stdout[-4000:])
            print(f"FAILED: README.md:{line} does not run as written (scratch copy: {repo})")
            status = 1
            args.keep = True
            break
    print(f"{ran} README commands ran, {skipped} skipped, in {time.monotonic() - start:.1f} s")
    if args.keep:
        print(f"scratch copy kept: {repo}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
