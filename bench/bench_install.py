"""What `pip install .` costs a user: wall time and the size of what lands in the environment.

For each project folder given, a fresh virtual environment is made in a temp folder (not timed),
then `pip install --quiet PROJECT` runs in it (timed, wall clock) and what it added to the
environment's site-packages is measured, in total and per distribution (the largest first).
The projects are installed round-robin, twice by default.

    python bench/bench_install.py .                      # this checkout
    python bench/bench_install.py /tmp/old-checkout .    # before and after, same run

pip's own cache and the configured indexes are used as they are, so the time is mostly unpacking
and byte-compiling, not downloading.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHOWN = 6


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue
    return total


def distributions(site: Path) -> dict[str, int]:
    """Bytes per installed distribution, from each one's RECORD (files it installed)."""
    sizes: dict[str, int] = {}
    for info in site.glob("*.dist-info"):
        record = info / "RECORD"
        if not record.is_file():
            continue
        total = 0
        for line in record.read_text(encoding="utf-8").splitlines():
            rel = line.split(",")[0]
            target = (site / rel).resolve()
            if target.is_file():
                total += target.stat().st_size
        sizes[info.name.split("-")[0]] = total
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


def measure(project: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="maia-install-") as tmp:
        env_dir = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
        python = env_dir / "bin" / "python"
        # An empty venv's own size (pip, setuptools) is subtracted: it is not what maia brings.
        site = next((env_dir / "lib").glob("python*/site-packages"))
        empty = tree_bytes(site)
        own = set(distributions(site))
        started = time.perf_counter()
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", str(project)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        added = tree_bytes(site) - empty
        dists = {k: v for k, v in distributions(site).items() if k not in own}
    return {
        "project": str(project),
        "seconds": round(seconds, 1),
        "megabytes": round(added / 1e6, 1),
        "largest": {k: round(v / 1e6, 1) for k, v in list(dists.items())[:SHOWN]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=2, help="Installs of each (default 2).")
    parser.add_argument("--out", type=Path, default=None, help="Also write the results as JSON.")
    args = parser.parse_args()
    # Round-robin, so that pip's cache (warmed by the first install) and the machine's load
    # fall on every project alike; each round's time is kept.
    rounds = [[measure(p.resolve()) for p in args.projects] for _ in range(args.rounds)]
    results = []
    for i in range(len(args.projects)):
        runs = [r[i] for r in rounds]
        results.append({**runs[-1], "seconds": [r["seconds"] for r in runs]})
    for r in results:
        largest = ", ".join(f"{k} {v:g} MB" for k, v in r["largest"].items())
        times = " / ".join(f"{t:g}" for t in r["seconds"])
        print(f"{r['project']}: {r['megabytes']:g} MB, {times} s ({largest})")
    if args.out:
        args.out.write_text(json.dumps({"results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
