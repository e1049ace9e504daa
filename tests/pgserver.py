"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl on a unix socket in a temp
folder, no TCP port. Skipped, with the reason, only where the binaries or psycopg are absent."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


def _as_user() -> list[str]:
    """initdb refuses to run as root: run the server as an unprivileged account then."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise Unavailable("running as root with no unprivileged account to run PostgreSQL as")


class Unavailable(Exception):
    """PostgreSQL cannot be started here; the message says why."""


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A throwaway server on a unix socket in a temp folder; yields its URL, removes it after."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise Unavailable("PostgreSQL's initdb/pg_ctl are not installed on this machine")
    prefix = _as_user()
    folder = Path(tempfile.mkdtemp(prefix="maia-pg-"))
    if prefix:
        shutil.chown(folder, user=prefix[2])
    data = folder / "data"
    quiet = {"check": True, "capture_output": True}
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "maia", "--auth=trust",
                    "--locale=C", "-E", "UTF8"], **quiet)  # type: ignore[call-overload]  # fmt: skip
    options = f"-k {folder} -c listen_addresses= -c fsync=off -c full_page_writes=off"
    # -t: pg_ctl waits 60 s for the server by default, which a loaded machine can exceed.
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l",
                    str(folder / "log"), "-w", "-t", "600", "start"],
                   **quiet)  # type: ignore[call-overload]  # fmt: skip
    try:
        yield f"postgresql://maia@/postgres?host={folder}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (maia-git[postgres])")
    try:
        with running_postgres() as url:
            yield url
    except Unavailable as why:
        pytest.skip(str(why))
