"""Parquet logs in object storage (``s3://bucket/prefix``), on a real local S3 server: the same
analysis as the same files in a folder, to 1e-9 with the same problems; DuckDB reads the
bucket only under the configured prefix; a bad URL, a missing bucket, wrong or no credentials,
an unreachable endpoint and a missing extra each give one clear line."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus import reference, write_corpus
from s3server import AWS_ENV, S3
from test_analyze_every_source import _analyze, _same, _settings

from conftest import Result, git, new_exp

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")


def _started_with_corpus(maia: Callable[..., Result], top: Path) -> tuple[str, dict[str, Any]]:
    """A started experiment whose committed segments hold the shared corpus, and the git
    reader's analysis of it (with its problems)."""
    from maia_git.storage import state

    exp_id = new_exp(maia, top)
    assert maia("exp", "start", exp_id, cwd=top).code == 0
    pins = {arm: pin.blob for arm, pin in state.load_experiment(top, exp_id).pins.items()}
    files = write_corpus(top / "experiments" / exp_id / "interactions", users=150, exp=exp_id,
                         pins=pins)  # fmt: skip
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "logs")
    want = reference(files, exp=exp_id, pins=pins)
    base = _analyze(maia, top, exp_id, keep=("problems",))
    assert base["invalid_lines"] == want["invalid"] >= 20
    assert base["duplicate_lines"] == want["duplicates"] >= 4
    return exp_id, base


def _switch(top: Path, old: str, new: str) -> None:
    path = top / "maia.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    git(top, "commit", "-q", "-am", f"logs from {new}")


def test_a_bucket_gives_the_same_analysis_as_a_folder(
    ws: Path, maia: Callable[..., Result], s3: S3, tmp_path: Path
) -> None:
    top = ws
    exp_id, base = _started_with_corpus(maia, top)
    kept = tmp_path / "segments"
    shutil.copytree(top / "experiments" / exp_id / "interactions", kept)
    segments = sorted(kept.glob("*.jsonl"))
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=top).code == 0
    _settings(top, "logs:\n  source: parquet\n  path: pq\n")
    local = _analyze(maia, top, exp_id, keep=("problems",))
    _same(local, base, "parquet in a folder")

    s3.client().put(str(top / "pq") + "/", s3.url("team/logs"), recursive=True)  # type: ignore[attr-defined]
    _switch(top, "path: pq", f"path: {s3.url('team/logs')}")
    remote = _analyze(maia, top, exp_id, keep=("problems",))
    assert remote["problems"] == local["problems"] == base["problems"]
    _same(remote, local, "parquet in a bucket")

    ci = maia("ci", "analyze", "--json", cwd=top)  # every active experiment, from the bucket
    assert ci.code == 0, ci.err
    assert json.dumps(base["control"]["n"]) in ci.out and base["decision"] in ci.out

    # Files from elsewhere with a prompt_blob column: it is checked against the pins.
    from test_engines_agree import _duckdb_table, _typed_rows

    rows = _typed_rows(segments, f"experiments/{exp_id}/interactions/")
    _duckdb_table(rows, tmp_path / "events.parquet")
    s3.client().put_file(  # type: ignore[attr-defined]
        str(tmp_path / "events.parquet"),
        f"{s3.bucket}/other/experiment={exp_id}/date=2026-03-01/events.parquet",
    )
    _switch(top, s3.url("team/logs"), s3.url("other"))
    blob = _analyze(maia, top, exp_id, keep=("problems",))
    assert blob["problems"] == base["problems"]
    assert any(p["error"].startswith("prompt_blob ") for p in blob["problems"])
    _same(blob, base, "parquet with prompt_blob in a bucket")

    # Another experiment with no files under the prefix has no logs yet, like an empty folder.
    other = new_exp(maia, top)
    empty = _analyze(maia, top, other)
    assert empty["control"]["n"] == empty["treatment"]["n"] == 0


def test_duckdb_reads_the_bucket_only_under_the_prefix(s3: S3, tmp_path: Path) -> None:
    """With the S3 filesystem registered, a statement still cannot read a local file such as
    /proc/self/environ, nor another prefix or bucket."""
    from maia_git.errors import MaiaError
    from maia_git.warehouse import engines, objstore

    fs = s3.client()
    local = tmp_path / "one.parquet"
    import duckdb

    with duckdb.connect() as plain:
        plain.execute(f"COPY (SELECT 1 AS a) TO '{local}' (FORMAT parquet)")
    fs.mkdir("maia-other")  # type: ignore[attr-defined]
    for key in ("team/logs/x/one.parquet", "team/logs2/one.parquet", "elsewhere/one.parquet"):
        fs.put_file(str(local), f"{s3.bucket}/{key}")  # type: ignore[attr-defined]
    fs.put_file(str(local), "maia-other/team/logs/x/one.parquet")  # type: ignore[attr-defined]

    where = objstore.parse(s3.url("team/logs"))
    assert where.allowed == f"s3://{s3.bucket}/team/logs/"
    con = objstore.duckdb_connect(objstore.filesystem(), where)  # the parquet source's
    try:
        inside = f"SELECT COUNT(*) FROM read_parquet('{where.url}/*/*.parquet')"
        assert engines.run_duckdb(con, inside) == [(1,)]
        for statement in (
            "SELECT * FROM read_text('/proc/self/environ')",
            f"SELECT * FROM read_parquet('{local}')",
            f"SELECT * FROM read_parquet('s3://{s3.bucket}/team/logs2/one.parquet')",
            f"SELECT * FROM read_parquet('s3://{s3.bucket}/elsewhere/one.parquet')",
            f"SELECT * FROM read_parquet('{where.url}/../elsewhere/one.parquet')",
            "SELECT * FROM read_parquet('s3://maia-other/team/logs/x/one.parquet')",
            "SET allowed_directories = ['s3://']",
            "SET enable_external_access = true",
        ):
            # Refused by the walls, not failing for another reason (every file exists).
            with pytest.raises(MaiaError, match=r"Permission Error|configuration has been locked"):
                engines.run_duckdb(con, statement)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("gs://bucket/logs", "s3:// URLs only"),
        ("s3://Bad_Bucket/logs", "not an S3 bucket name"),
        ("s3://bucket/a/../b", "plain folder names"),
        ("s3://bucket/a//b", "plain folder names"),
        ("s3://bucket/a*", "plain folder names"),
        ("s3://bucket/it's", "plain folder names"),
    ],
)
def test_a_bad_url_is_refused_before_any_request(url: str, words: str) -> None:
    from maia_git.errors import UsageError
    from maia_git.warehouse import objstore

    with pytest.raises(UsageError, match=words) as err:
        objstore.parse(url)
    assert "\n" not in str(err.value)


def test_a_location_names_its_objects_and_nothing_beside() -> None:
    from maia_git.warehouse import objstore

    where = objstore.parse("s3://my-bucket/team/logs/")
    assert (where.url, where.allowed) == ("s3://my-bucket/team/logs", "s3://my-bucket/team/logs/")
    assert where.key("experiment=e/x.parquet") == "my-bucket/team/logs/experiment=e/x.parquet"
    bare = objstore.parse("s3://my-bucket")
    assert (bare.url, bare.allowed, bare.key("a.parquet")) == (
        "s3://my-bucket", "s3://my-bucket/", "my-bucket/a.parquet")  # fmt: skip


def test_bad_buckets_credentials_and_endpoints_give_one_line(
    ws: Path, maia: Callable[..., Result], s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = ws
    exp_id = new_exp(maia, top)
    _settings(top, "logs:\n  source: parquet\n  path: s3://maia-missing/logs\n")

    def fails(code: int, words: str) -> None:
        result = maia("exp", "analyze", exp_id, cwd=top)
        assert (result.code, result.out) == (code, ""), result.err
        assert words in result.err and result.err.count("\n") == 1, result.err

    fails(1, "s3://maia-missing/logs: the bucket maia-missing does not exist")
    _switch(top, "s3://maia-missing/logs", s3.url())
    with s3.refusing_every_key():
        fails(1, f"{s3.url()}: access denied")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    fails(2, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_ENV["AWS_SECRET_ACCESS_KEY"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    fails(1, f"{s3.url()}: cannot reach the object store")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:9")  # no scheme: botocore refuses it
    fails(2, f"{s3.url()}: the S3 settings in the environment are not valid (Invalid endpoint: "
             "127.0.0.1:9); check AWS_ENDPOINT_URL and AWS_REGION")  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL", "user:secret@127.0.0.1:9")  # never echoed
    fails(2, "(Invalid endpoint: ***@127.0.0.1:9)")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_REGION", "no such region!")
    fails(2, "Provided region_name 'no such region!' doesn't match a supported format.")
    _switch(top, "source: parquet", "source: parquet\n  engine: chdb")
    fails(2, "chdb reads local folders only")


def test_a_missing_extra_names_it(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    exp_id = new_exp(maia, ws)
    _settings(ws, "logs:\n  source: parquet\n  path: s3://maia-logs/team\n")
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if it were not installed
    result = maia("exp", "analyze", exp_id, cwd=ws)
    assert result.code == 2
    assert result.err == "maia: error: this log source needs s3fs: pip install 'maia-git[s3]'\n"


def _unchanged(top: Path, head: str, exp_id: str) -> None:
    """Nothing of a failed export is left: the same commit, a clean tree, no manifest."""
    assert git(top, "rev-parse", "HEAD") == head
    assert git(top, "status", "--porcelain") == ""
    assert not (top / "experiments" / exp_id / "exported.json").exists()


def _compression(data: bytes, tmp_path: Path) -> list[str]:
    import duckdb

    (tmp_path / "copy.parquet").write_bytes(data)
    with duckdb.connect() as con:
        found = con.execute(
            f"SELECT DISTINCT compression FROM parquet_metadata('{tmp_path / 'copy.parquet'}')"
        ).fetchall()
    return [str(row[0]) for row in found]


def test_export_to_a_bucket_then_analyze_as_before(
    ws: Path, maia: Callable[..., Result], s3: S3, tmp_path: Path
) -> None:
    """Exported to a bucket, with one segment left in git (not committed yet): the analysis of
    the Parquet objects and that segment together equals the analysis before export; a changed
    or missing object is refused as a local file is."""
    top = ws
    exp_id, committed = _started_with_corpus(maia, top)
    folder = top / "experiments" / exp_id / "interactions"
    (folder / "c-writer.jsonl").write_bytes((folder / "a-writer.jsonl").read_bytes()[:20_000])
    before = _analyze(maia, top, exp_id, keep=("problems",))
    assert before["duplicate_lines"] > committed["duplicate_lines"]  # copies of exported lines
    head = git(top, "rev-parse", "HEAD")
    url = s3.url("team/logs")

    out = maia("logs", "export", exp_id, "--to", f"{url}/", "--json", cwd=top)
    assert out.code == 0, out.err
    result = json.loads(out.out)["experiments"][0]
    assert result["skipped"] == [f"experiments/{exp_id}/interactions/c-writer.jsonl"]
    assert git(top, "rev-parse", "HEAD~1") == head
    assert git(top, "status", "--porcelain", "-uall") == f"?? {result['skipped'][0]}\n"
    manifest = json.loads((top / "experiments" / exp_id / "exported.json").read_text())
    assert manifest["root"] == url and len(manifest["files"]) == 2
    fs = s3.client()
    for entry in manifest["files"]:
        assert not (top / entry["segment"]).exists()
        assert entry["parquet"].startswith(f"experiment={exp_id}/date=")
        key = f"{s3.bucket}/team/logs/{entry['parquet']}"
        assert fs.info(key)["size"] == entry["bytes"]  # type: ignore[attr-defined]
        data = fs.cat_file(key)  # type: ignore[attr-defined]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert _compression(data, tmp_path) == ["ZSTD"]
    after = _analyze(maia, top, exp_id, keep=("problems",))
    assert after["problems"] == before["problems"]
    _same(after, before, "git + bucket")

    victim = f"{s3.bucket}/team/logs/{manifest['files'][0]['parquet']}"
    original = fs.cat_file(victim)  # type: ignore[attr-defined]
    fs.pipe_file(victim, original[:-1] + b"\0")  # type: ignore[attr-defined]
    changed = maia("exp", "analyze", exp_id, cwd=top)
    assert changed.code == 1 and changed.out == ""
    assert changed.err == f"maia: error: exported logs changed since export: s3://{victim}\n"
    fs.rm_file(victim)  # type: ignore[attr-defined]
    missing = maia("exp", "analyze", exp_id, cwd=top)
    assert missing.code == 1
    assert missing.err == (
        f"maia: error: exported logs missing: s3://{victim} (listed in the manifest)\n"
    )
    fs.pipe_file(victim, original)  # type: ignore[attr-defined]
    _same(_analyze(maia, top, exp_id, keep=("problems",)), before, "restored")

    # The bucket as a parquet source holds the committed segments' rows.
    _settings(top, f"logs:\n  source: parquet\n  path: {url}\n")
    _same(_analyze(maia, top, exp_id, keep=("problems",)), committed, "parquet in the bucket")


def test_ids_known_unique_in_a_bucket_still_meet_their_copies(
    ws: Path, maia: Callable[..., Result], s3: S3, tmp_path: Path
) -> None:
    """The manifest's unique_ids record holds for objects in a bucket as for files: a copy of
    an exported id still in git counts once, and an export that brings a repeat drops it."""
    import random

    from corpus import assert_same, good
    from test_sources_cli import _manifest, _sums, _write_lines

    from maia_git.warehouse import manifest

    exp_id = new_exp(maia, ws)
    rng = random.Random(5)
    folder = ws / "experiments" / exp_id / "interactions"
    records = [good(rng, f"user-{u:03d}", i, exp_id, interaction_id=f"id-{u}-{i}")
               for u in range(60) for i in range(rng.randrange(1, 6))]  # fmt: skip
    kept = [_write_lines(tmp_path / "a.jsonl", records)]
    _write_lines(folder / "a-writer.jsonl", records)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "logs")
    assert maia("logs", "export", exp_id, "--to", s3.url(), cwd=ws).code == 0
    assert manifest.ids_unique(_manifest(ws, exp_id))
    assert_same(_sums(maia, ws, exp_id), reference(kept, exp=exp_id, pins={}))

    copied, changed = records[0], records[3]
    earlier = {**changed, "ts": "2026-02-01T00:00:00Z", "success": not changed["success"]}
    later = _write_lines(folder / "b-writer.jsonl", [copied, earlier])
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "copies")
    want = reference([*kept, later], exp=exp_id, pins={})
    assert want["duplicates"] == 2
    assert_same(_sums(maia, ws, exp_id), want)
    assert maia("logs", "export", exp_id, "--to", s3.url(), cwd=ws).code == 0
    assert not manifest.ids_unique(_manifest(ws, exp_id))
    assert_same(_sums(maia, ws, exp_id), want)


def test_a_failed_export_to_a_bucket_leaves_nothing(
    ws: Path, maia: Callable[..., Result], s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing bucket, a refused key, no credentials, an unreachable endpoint, a missing
    extra, a bad URL, or an upload that fails half way: one line, its exit code, and the
    repository as it was (the segments in place, no manifest, no commit)."""
    import sys

    from maia_git.warehouse import objstore

    top = ws
    exp_id = new_exp(maia, top)
    write_corpus(top / "experiments" / exp_id / "interactions", users=20, exp=exp_id, pins={})
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "logs")
    head = git(top, "rev-parse", "HEAD")

    def fails(code: int, words: str, url: str = s3.url()) -> None:
        result = maia("logs", "export", exp_id, "--to", url, cwd=top)
        assert (result.code, result.out) == (code, ""), result.err
        assert words in result.err and result.err.count("\n") == 1, result.err
        _unchanged(top, head, exp_id)

    fails(1, "s3://maia-missing/logs: the bucket maia-missing does not exist",
          "s3://maia-missing/logs")  # fmt: skip
    fails(2, "plain folder names", f"{s3.url()}/../other")
    dry = maia("logs", "export", exp_id, "--to", "gs://b/logs", "--dry-run", cwd=top)
    assert dry.code == 2 and "s3:// URLs only" in dry.err
    with s3.refusing_every_key():
        fails(1, f"{s3.url()}: access denied")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    fails(2, "no AWS credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ENV["AWS_ACCESS_KEY_ID"])
    with monkeypatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
        env.setenv("AWS_MAX_ATTEMPTS", "1")
        fails(1, f"{s3.url()}: cannot reach the object store")
        env.setenv("AWS_ENDPOINT_URL", "localhost:9")  # no scheme: botocore refuses it
        fails(2, "the S3 settings in the environment are not valid (Invalid endpoint: localhost:9)")
    with monkeypatch.context() as env:
        env.setitem(sys.modules, "s3fs", None)  # as if it were not installed
        fails(2, "this log source needs s3fs: pip install 'maia-git[s3]'")

    uploads: list[str] = []
    real_upload = objstore.upload

    def fail_second(fs: object, local: Path, where: objstore.Location, rel: str) -> None:
        uploads.append(rel)
        if len(uploads) == 2:
            raise MaiaError(f"{where.url}: connection reset while uploading {rel}")
        real_upload(fs, local, where, rel)

    from maia_git.errors import MaiaError

    with monkeypatch.context() as env:
        env.setattr(objstore, "upload", fail_second)
        fails(1, "connection reset while uploading")
    assert maia("logs", "export", exp_id, "--to", s3.url(), cwd=top).code == 0
    assert len(_manifest_of(top, exp_id)["files"]) == 2


def _manifest_of(top: Path, exp_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((top / "experiments" / exp_id / "exported.json").read_text())
    return data


def test_a_download_stops_past_the_size_the_manifest_lists(s3: S3, tmp_path: Path) -> None:
    """An object larger than its manifest entry has changed: its download stops soon after
    the listed size, so an object that grew, or a manifest naming a huge one, fills no disk."""
    from maia_git.warehouse import objstore

    where = objstore.parse(s3.url())
    body = bytes(range(256)) * (48 << 12)  # 12 MB, three of fetch's 4 MB reads
    s3.client().pipe_file(where.key("big.parquet"), body)  # type: ignore[attr-defined]
    fs = objstore.filesystem()

    whole = objstore.fetch(fs, where, "big.parquet", tmp_path / "whole", limit=len(body))
    assert whole == (len(body), hashlib.sha256(body).hexdigest())
    assert (tmp_path / "whole").read_bytes() == body

    size, _ = objstore.fetch(fs, where, "big.parquet", tmp_path / "cut", limit=1000)
    assert 1000 < size < len(body)
    assert (tmp_path / "cut").stat().st_size == size


def test_downloaded_copies_are_removed_whatever_happens(
    ws: Path, maia: Callable[..., Result], s3: S3, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The temporary copies of exported objects (and the export's own files) are gone after
    an export, an analysis, a changed object, and an interrupt half way through the downloads."""
    import tempfile

    from maia_git.warehouse import objstore

    exp_id = new_exp(maia, ws)
    write_corpus(ws / "experiments" / exp_id / "interactions", users=20, exp=exp_id, pins={})
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "logs")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where maia's temporary files go
    assert maia("logs", "export", exp_id, "--to", s3.url(), cwd=ws).code == 0
    assert list(scratch.iterdir()) == []
    entries = _manifest_of(ws, exp_id)["files"]
    assert len(entries) == 2

    assert _analyze(maia, ws, exp_id)["control"]["n"] > 0
    assert list(scratch.iterdir()) == []

    fetched: list[str] = []
    real_fetch = objstore.fetch

    def interrupted(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fetched.append(args[2])
        got = real_fetch(*args, **kwargs)
        if len(fetched) == 2:
            raise KeyboardInterrupt
        return got

    with monkeypatch.context() as env:
        env.setattr(objstore, "fetch", interrupted)
        result = maia("exp", "analyze", exp_id, cwd=ws)
    assert result.code == 130 and "maia: aborted" in result.err  # click's word for ^C
    assert len(fetched) == 2 and list(scratch.iterdir()) == []

    victim = s3.url() + "/" + entries[1]["parquet"]
    s3.client().pipe_file(victim.removeprefix("s3://"), b"not the exported file")  # type: ignore[attr-defined]
    changed = maia("exp", "analyze", exp_id, cwd=ws)
    assert changed.err == f"maia: error: exported logs changed since export: {victim}\n"
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("root", ["gs://bucket/logs", "s3://Not_A_Bucket/logs", "s3://b/x/../y"])
def test_a_manifest_whose_root_is_a_bad_url_is_an_invalid_state_file(
    ws: Path, maia: Callable[..., Result], root: str
) -> None:
    """A root maia would never have written (so edited by hand): exit 3 naming the manifest,
    as for any other invalid manifest, before anything is read."""
    exp_id = new_exp(maia, ws)
    listed = {"segment": f"experiments/{exp_id}/interactions/a.jsonl", "blob": "0" * 40,
              "parquet": f"experiment={exp_id}/date=2026-03-01/a.parquet", "rows": 1,
              "bytes": 1, "sha256": "0" * 64}  # fmt: skip
    manifest = ws / "experiments" / exp_id / "exported.json"
    manifest.write_text(json.dumps({"version": 1, "root": root, "files": [listed]}))
    for args in (("exp", "analyze", exp_id), ("logs", "export", exp_id, "--to", "pq")):
        result = maia(*args, cwd=ws)
        assert result.code == 3, (args, result.err)
        assert result.err.startswith(
            f"maia: error: experiments/{exp_id}/exported.json:1:1: root {root}: "
        ), result.err
        assert result.err.count("\n") == 1


def test_a_folder_or_prefix_named_like_a_column_changes_no_row(
    ws: Path, maia: Callable[..., Result], s3: S3
) -> None:
    """A root whose path has a ``name=value`` folder (hive style) named like a published
    column: every engine reads the files' own columns, not the folder's value, so the
    analysis is the git reader's, from a folder (DuckDB, chdb, the manifest's files) and from
    a bucket."""
    top = ws
    exp_id, base = _started_with_corpus(maia, top)
    lake = "lake/arm=control/user_id=u"
    assert maia("logs", "export", exp_id, "--to", lake, cwd=top).code == 0
    _same(_analyze(maia, top, exp_id, keep=("problems",)), base, "the manifest's files")
    _settings(top, f"logs:\n  source: parquet\n  path: {lake}\n")
    _same(_analyze(maia, top, exp_id, keep=("problems",)), base, "parquet, duckdb")
    _switch(top, "source: parquet", "source: parquet\n  engine: chdb")
    _same(_analyze(maia, top, exp_id, keep=("problems",)), base, "parquet, chdb")
    url = s3.url("arm=treatment")
    s3.client().put(str(top / lake) + "/", url, recursive=True)  # type: ignore[attr-defined]
    _switch(top, f"  engine: chdb\n  path: {lake}", f"  path: {url}")
    _same(_analyze(maia, top, exp_id, keep=("problems",)), base, "parquet in a bucket")
