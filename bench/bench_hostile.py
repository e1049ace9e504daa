"""How fast hostile state files are refused: each one against a healthy command in the same run.

    python bench/bench_hostile.py [--runs 3]

Target: every hostile file is refused (exit 3, ``file:line:column``) in under 0.5 s of parsing.
For each case the script times ``maia queue status`` as a real process on a workspace holding
that file, against the same command on the healthy workspace (the baseline: interpreter start,
imports, git), round-robin, and prints the median wall time, the difference from the baseline
(what the hostile file costs) and the time ``yamlio.load`` takes on it in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from maia_git.errors import StateFileError
from maia_git.storage import yamlio

PY = sys.executable
ENTRY = "id: exp_001\nagent: helper\nstatus: draft\npriority: medium\n"
CASES = {
    "500 nested [ (1 KB)": ("queue/exp_001.yaml", ENTRY + "notes: " + "[" * 500 + "]" * 500),
    "500 nested {a: (settings)": ("maia.yaml", "alpha: " + "{a: " * 500 + "1" + "}" * 500),
    "800 KB flow sequence": ("queue/exp_001.yaml", ENTRY + "notes: [" + "1, " * 270_000 + "1]"),
    "30 KB flow sequence": ("queue/exp_001.yaml", ENTRY + "notes: [" + "1," * 15_000 + "1]"),
    "30 KB plain words (valid)": ("queue/exp_001.yaml", ENTRY + "notes: " + "x " * 15_000),
    "5,000-digit integer": ("maia.yaml", "alpha: " + "9" * 5000),
    "hex max_concurrent": ("maia.yaml", "max_concurrent: 0x" + "F" * 5000),
    ".Inf": ("maia.yaml", "alpha: .Inf"),
    "!!str [1,2]": ("maia.yaml", "alpha: !!str [1,2]"),
    "alias bomb": (
        "queue/exp_001.yaml",
        ENTRY + "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n",
    ),
}


def git(top: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=top, check=True, capture_output=True)


def workspace(root: Path) -> Path:
    top = root / "ws"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    (top / "agents").mkdir()
    (top / "agents/a.md").write_text("a\n")
    (top / "agents/b.md").write_text("b\n")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "init")
    maia(top, "init")
    maia(top, "exp", "new", "x", "--agent", "helper", "--control", "agents/a.md",
         "--treatment", "agents/b.md")  # fmt: skip
    return top


def maia(top: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PY, "-m", "maia_git", *args], cwd=top, capture_output=True)


def timed(top: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = maia(top, "queue", "status")
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    env_home = tempfile.mkdtemp()
    os.environ.update(HOME=env_home, GIT_CONFIG_NOSYSTEM="1")
    os.environ.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b")
    os.environ.update(GIT_COMMITTER_EMAIL="b@x")
    with tempfile.TemporaryDirectory() as tmp:
        top = workspace(Path(tmp))
        originals = {rel: (top / rel).read_bytes() for rel, _ in CASES.values()}
        timed(top)  # warm-up
        yamlio.loads(b"warm: [up]\n", "x")  # import ruamel.yaml before the in-process timings
        base = statistics.median(timed(top)[0] for _ in range(runs))
        print(f"baseline: maia queue status on a healthy workspace: {base * 1000:.0f} ms")
        print(f"{'case':28} {'exit':>4} {'median ms':>9} {'over base':>9} {'parse ms':>8}")
        for name, (rel, text) in CASES.items():
            path = top / rel
            path.write_text(text if rel != "maia.yaml" else text + "\n")
            times, codes = [], set()
            for _ in range(runs):
                seconds, code = timed(top)
                times.append(seconds)
                codes.add(code)
            start = time.perf_counter()
            with contextlib.suppress(StateFileError):
                yamlio.load(path, rel)
            parse = time.perf_counter() - start
            median = statistics.median(times)
            print(
                f"{name:28} {','.join(map(str, sorted(codes))):>4} {median * 1000:9.0f} "
                f"{(median - base) * 1000:9.0f} {parse * 1000:8.1f}"
            )
            path.write_bytes(originals[rel])


if __name__ == "__main__":
    main()
