"""The runtime's per-request call: ``get_prompt`` in process, and ``maia exp assign`` as a process.

    python bench/bench_runtime.py [--quick] [--out FILE]

Target: ``ABTestingFramework.get_prompt`` (arm, pinned text, path and blob id), once the prompts
are cached, at least 0.5x a bare loop of ``hashlib.md5(f"{exp_id}:{user_id}".encode()).digest()``
over the same users. ``maia exp assign`` (arms, and with ``--json`` the prompts too) over a file
of users is reported in users/s beside the same bare loop.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import PY, Row, bench_env, cli_main, median, ratio_row, run_parts

GET_PROMPT_TARGET = 0.5


def _git(top: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=top, env=env, check=True, capture_output=True)


def build(root: Path) -> tuple[Path, dict[str, str], str]:
    """A workspace with one active experiment whose two prompts are pinned."""
    env = bench_env(root / "home")
    top = root / "repo"
    (top / "agents").mkdir(parents=True)
    (top / "agents/support.md").write_text("You are a support agent.\n" * 40)
    (top / "agents/support_v2.md").write_text("You are a support agent. Plan first.\n" * 40)
    _git(top, env, "init", "-q", "-b", "main")
    _git(top, env, "add", "agents")
    _git(top, env, "commit", "-qm", "prompts")
    subprocess.run(
        [PY, "-m", "maia_git", "init"], cwd=top, env=env, check=True, capture_output=True
    )
    subprocess.run(
        [PY, "-m", "maia_git", "exp", "new", "Bench", "--agent", "support", "--control",
         "agents/support.md", "--treatment", "agents/support_v2.md"],
        cwd=top, env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [PY, "-m", "maia_git", "exp", "start", "exp_001"],
        cwd=top,
        env=env,
        check=True,
        capture_output=True,
    )
    return top, env, "exp_001"


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_get_prompt(top: Path, exp_id: str, count: int, repeat: int) -> list[Row]:
    from maia_git import ABTestingFramework

    users = [f"user-{i}@example.com" for i in range(count)]
    framework = ABTestingFramework(top)
    framework.get_prompt(exp_id, users[0])  # prompts read and cached before the clock starts

    def bare() -> None:
        md5 = hashlib.md5
        for user in users:
            md5(f"{exp_id}:{user}".encode()).digest()

    def library() -> None:
        get_prompt = framework.get_prompt
        for user in users:
            get_prompt(exp_id, user)

    times: dict[str, list[float]] = {"bare": [], "library": []}
    for _ in range(repeat):
        times["bare"].append(_seconds(bare))
        times["library"].append(_seconds(library))
    lib, base = count / median(times["library"]), count / median(times["bare"])
    served = framework.get_prompt(exp_id, users[0])
    framework.close()
    return [
        ratio_row(
            "runtime.get_prompt",
            f"get_prompt, {count:,} users, prompts cached",
            round(lib),
            "calls/s",
            round(base),
            "bare hashlib.md5 loop (digest only)",
            at_least=GET_PROMPT_TARGET,
            note=f"median of {repeat}; each call returns arm, {len(served.text)}-char text, "
            "path and blob id, and checks the experiment's status every 0.1 s",
        )
    ]


def bench_assign_cli(top: Path, env: dict[str, str], exp_id: str, count: int) -> list[Row]:
    users = [f"user-{i}@example.com" for i in range(count)]
    users_file = top.parent / "users.txt"
    users_file.write_text("\n".join(users) + "\n")
    bare = count / _seconds(lambda: [hashlib.md5(f"{exp_id}:{u}".encode()).digest() for u in users])
    rows = []
    for key, extra in (("runtime.assign", ()), ("runtime.assign_json", ("--json",))):
        argv = [PY, "-m", "maia_git", "exp", "assign", exp_id, "--users-file", str(users_file)]
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([*argv, *extra], cwd=top, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
        rate = count / median(walls)
        rows.append(
            Row(
                key,
                f"maia exp assign {' '.join(extra)} --users-file, {count:,} users (process)",
                round(rate),
                "users/s",
                round(bare),
                "bare hashlib.md5 loop in process (digest only)",
                round(rate / bare, 3),
                "report",
                "INFO",
                "median of 3 whole processes, start-up included",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    count, repeat, cli_users = (20_000, 3, 5_000) if quick else (300_000, 5, 100_000)
    with tempfile.TemporaryDirectory(prefix="maia-bench-runtime-") as tmp:
        top, env, exp_id = build(Path(tmp))
        old = Path.cwd()
        os.chdir(top)
        try:
            return run_parts(
                [
                    ("runtime.get_prompt", lambda: bench_get_prompt(top, exp_id, count, repeat)),
                    ("runtime.assign", lambda: bench_assign_cli(top, env, exp_id, cli_users)),
                ]
            )
        finally:
            os.chdir(old)


if __name__ == "__main__":
    cli_main(run, __doc__)
