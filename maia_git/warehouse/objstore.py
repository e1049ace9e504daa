"""Object storage for Parquet logs: ``s3://bucket/prefix`` through s3fs (an fsspec filesystem).

DuckDB's own ``httpfs`` extension is downloaded at run time, which a locked-down runner may not
allow; s3fs is a Python package (extra ``maia-git[s3]``), imported only when a path is ``s3://``,
and DuckDB reads through it once it is registered on the connection.

Credentials, region and endpoint come from the environment only, as every AWS tool reads them:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``), ``AWS_REGION`` or
``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL`` for an S3-compatible server (botocore reads it
itself; it does not read ``AWS_REGION``, so that one is passed on here). Nothing is read from
the repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maia_git.errors import MaiaError, UsageError
from maia_git.warehouse import engines

SCHEME = "s3://"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A prefix is plain folder names: it is quoted into SQL and matched against DuckDB's
# allowed_directories, so no wildcard, quote, backslash, control character, '.' or '..'.
_PART = re.compile(r"[^\x00-\x1f\x7f*?\[\]{}'\"\\]+")


def is_url(path: str) -> bool:
    return "://" in path


@dataclass(frozen=True)
class Location:
    """``s3://bucket/prefix`` (the prefix without slashes at either end; may be empty)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def allowed(self) -> str:
        """The narrowest DuckDB ``allowed_directories`` entry that reads under this location
        (the trailing slash keeps ``prefix2/`` out)."""
        return f"{self.url}/"

    def key(self, rel: str) -> str:
        """s3fs's name for ``rel`` under this location (``bucket/prefix/rel``)."""
        return f"{self.url}/{rel}".removeprefix(SCHEME)

    def url_of(self, rel: str) -> str:
        return f"{self.url}/{rel}"


def parse(url: str) -> Location:
    """The location an ``s3://`` URL names, or UsageError (exit 2) saying what is wrong."""
    if not url.startswith(SCHEME):
        scheme = url.split("://", 1)[0]
        raise UsageError(
            f"{url}: maia reads object storage at s3:// URLs only, not {scheme}:// "
            "(or give a local folder)"
        )
    bucket, _, prefix = url.removeprefix(SCHEME).rstrip("/").partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"{url}: {bucket!r} is not an S3 bucket name")
    parts = prefix.split("/") if prefix else []
    if any(p in (".", "..") or not _PART.fullmatch(p) for p in parts):
        raise UsageError(
            f"{url}: the prefix must be plain folder names (no '//', '.', '..', wildcards "
            "or quotes)"
        )
    return Location(bucket, prefix)


def filesystem() -> Any:
    """An s3fs filesystem configured from the environment; no listing is cached, so every
    command sees the bucket as it is."""
    s3fs = engines.need("s3fs")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = {"region_name": region} if region else {}
    return s3fs.S3FileSystem(
        skip_instance_cache=True, use_listings_cache=False, client_kwargs=client
    )


def duckdb_connect(fs: Any, where: Location) -> Any:
    """maia's locked-down DuckDB connection, reading through ``fs`` only under ``where``."""
    return engines.duckdb_connect(allowed_dirs=[where.allowed], filesystems=[fs])


@contextlib.contextmanager
def errors(where: Location) -> Iterator[None]:
    """s3fs and botocore errors as one line that names the location: exit 2 when no
    credentials are set, else exit 1."""
    try:
        yield
    except MaiaError:
        raise
    except Exception as err:
        translated = _translated(err, where)
        if translated is None:
            raise
        raise translated from None


def _translated(err: Exception, where: Location) -> MaiaError | None:
    import botocore.exceptions as bce

    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, bce.NoCredentialsError | bce.PartialCredentialsError):
        return UsageError(
            f"{where.url}: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(in CI: secrets); they are never read from the repository"
        )
    if isinstance(err, bce.EndpointConnectionError | bce.ConnectTimeoutError):
        return MaiaError(f"{where.url}: cannot reach the object store ({text})")
    if isinstance(err, PermissionError):
        return MaiaError(
            f"{where.url}: access denied ({text}); check the AWS credentials in the environment"
        )
    if isinstance(err, FileNotFoundError) and "bucket does not exist" in text:
        return MaiaError(f"{where.url}: the bucket {where.bucket} does not exist")
    if isinstance(err, OSError | bce.BotoCoreError | bce.ClientError):
        return MaiaError(f"{where.url}: {text}")
    return None


def check_bucket(fs: Any, where: Location) -> None:
    """Fail early, with a clear line, when the bucket is missing or out of reach: a listing of
    a missing bucket would look like an empty one.

    One key of a listing under the prefix, not a HEAD of the bucket: HEAD needs the right to
    list the whole bucket, which a role limited to its prefix (a ``s3:prefix`` condition, the
    usual least-privilege policy) does not have, while every command here lists the prefix."""
    prefix = f"{where.prefix}/" if where.prefix else ""
    with errors(where):
        try:
            fs.call_s3("list_objects_v2", Bucket=where.bucket, Prefix=prefix, MaxKeys=1)
        except FileNotFoundError:  # NoSuchBucket
            raise MaiaError(f"{where.url}: the bucket {where.bucket} does not exist") from None
        except ValueError as err:  # the first call builds the client, which checks the settings
            raise UsageError(
                f"{where.url}: the S3 settings in the environment are not valid "
                f"({_no_userinfo(str(err))}); check AWS_ENDPOINT_URL and AWS_REGION"
            ) from None


def _no_userinfo(text: str) -> str:
    """``text`` without the ``user:password@`` a URL in it may carry."""
    return re.sub(r"[^\s/@]+@", "***@", text)


def has_files(fs: Any, where: Location, exp_id: str) -> bool:
    """Whether the experiment has Parquet files under the location (checking the bucket)."""
    check_bucket(fs, where)
    with errors(where):
        return bool(fs.glob(where.key(f"experiment={exp_id}/*/*.parquet")))


def upload(fs: Any, local: Path, where: Location, rel: str) -> None:
    with errors(where):
        fs.put_file(str(local), where.key(rel))


def fetch(fs: Any, where: Location, rel: str, into: Path, limit: int) -> tuple[int, str]:
    """Download ``rel`` to ``into`` in one pass; its size and SHA-256 as received.

    The download stops once past ``limit`` bytes (the size the manifest lists, so the object
    has changed): an object that grew, or a manifest naming a huge one, fills no disk."""
    digest = hashlib.sha256()
    size = 0
    with errors(where):
        try:
            source = fs.open(where.key(rel), "rb", block_size=1 << 22)
        except FileNotFoundError:
            raise MaiaError(
                f"exported logs missing: {where.url_of(rel)} (listed in the manifest)"
            ) from None
        with source, open(into, "wb") as out:
            while size <= limit and (chunk := source.read(1 << 22)):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    return size, digest.hexdigest()
