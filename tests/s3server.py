"""A throwaway S3 server for the tests: moto's, on a free loopback port, started once per session
(per xdist worker). ``s3`` gives a test a bucket of its own and points the standard AWS variables
at the server with dummy credentials. Skipped, with the reason, only where moto or s3fs is
absent."""

from __future__ import annotations

import itertools
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

_BUCKETS = itertools.count(1)


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    def url(self, prefix: str = "logs") -> str:
        return f"s3://{self.bucket}/{prefix}"

    def client(self) -> object:
        """An s3fs filesystem on the server, as a test's own hands on the bucket."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False)

    @contextmanager
    def refusing_every_key(self) -> Iterator[None]:
        """The server refuses the dummy credentials (as AWS refuses a wrong key) until the
        block ends: moto then checks every request against its own IAM users."""
        _reset_auth(self.endpoint, "0")
        try:
            yield
        finally:
            _reset_auth(self.endpoint, "inf")


def _reset_auth(endpoint: str, count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=600) as answer:
        answer.read()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("s3fs", reason="s3fs is not installed (maia-git[s3])")
    server_module = pytest.importorskip("moto.server", reason="moto is not installed (test extra)")
    # The server logs every request to stderr, where the CLI tests read maia's own messages.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "maia-test",
    "AWS_SECRET_ACCESS_KEY": "maia-test-secret",
    "AWS_REGION": "us-east-1",
    # No credential lookup may leave the machine (the instance metadata address).
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A new bucket on the session's server, and the environment pointed at it."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    store = S3(s3_endpoint, f"maia-test-{next(_BUCKETS)}")
    store.client().mkdir(store.bucket)  # type: ignore[attr-defined]
    return store
