"""A small stateful stand-in for GitHub's pull-request endpoints, on 127.0.0.1.

No GitHub-compatible forge can be installed here, so tests talk to this server, over https as a
real client would: its certificate is self-signed (``default_certificate``), and the test suite
trusts it through ``SSL_CERT_FILE`` (tests/conftest.py). It answers as the REST API does for what
maia calls (shapes checked against GitHub's docs and real error bodies):

- ``GET  /repos/{owner}/{repo}/pulls?head=owner:branch&base=...&state=open|closed|all``: a JSON
  list; a ``head`` without ``owner:`` is ignored, as GitHub does.
- ``POST /repos/{owner}/{repo}/pulls`` with JSON ``{head, base, title, body}``: 201 and the pull;
  422 "Validation Failed" with ``missing_field`` errors, or with GitHub's custom messages "A pull
  request already exists for owner:branch." and "No commits between base and head".
- 401 for a missing or wrong token, 404 for an unknown repository or path.

With ``git_dir`` (a bare repository standing for the remote) it also checks, like GitHub, that the
head branch was pushed (else 422 ``head invalid``) and has commits that base lacks.

Every request is recorded (method, path, query, headers, parsed body) for field-by-field checks.
``fail_next`` makes the next request fail with a given status, ``respond_next`` gives it any
answer, and ``stall_next`` makes it hang (for timeouts).

``OtherHost`` is a server on another origin that records whatever reaches it: the token tests
point redirects and settings at it and check that it received nothing.

    with FakeGitHub(token="t0ken", repos=["octo/demo"]) as gh:
        client = GitHubClient(gh.url, "t0ken", "octo/demo")
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

DOCS = "https://docs.github.com/rest/pulls/pulls"
_DEFAULT_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: "Resource not accessible by integration",
    404: "Not Found",
    422: "Validation Failed",
    429: "API rate limit exceeded",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its private key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(folder: Path) -> Certificate:
    """Generate a certificate in ``folder`` with the openssl command (valid for two days)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"]
    command += ["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
    command += ["-subj", "/CN=maia test server", "-keyout", str(key), "-out", str(cert)]
    command += ["-addext", names, "-addext", "basicConstraints=critical,CA:TRUE"]
    command += ["-addext", "keyUsage=critical,digitalSignature,keyCertSign"]
    command += ["-addext", "extendedKeyUsage=serverAuth"]
    subprocess.run(command, check=True, capture_output=True)
    return Certificate(cert, key)


@functools.cache
def default_certificate() -> Certificate:
    """One certificate per test process; conftest.py puts it in ``SSL_CERT_FILE``."""
    folder = Path(tempfile.mkdtemp(prefix="maia-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return make_certificate(folder)


def _serve_tls(server: ThreadingHTTPServer, certificate: Certificate) -> threading.Thread:
    # The handshake runs in the handler's thread, so a silent client cannot block the server.
    server.socket = certificate.server_context().wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    # A short poll keeps stop() quick: shutdown() waits for the loop's next look.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    return thread


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """The server; ``url`` is the API base URL to hand to the client (``GITHUB_API_URL``)."""

    def __init__(
        self,
        token: str = "test-token",
        repos: Iterable[str] = ("octo/demo",),
        git_dir: Path | str | None = None,
        certificate: Certificate | None = None,
    ) -> None:
        self.token = token
        self.certificate = certificate or default_certificate()
        self.pulls: dict[str, list[dict[str, Any]]] = {r.lower(): [] for r in repos}
        self.git_dir = None if git_dir is None else Path(git_dir)
        self.requests: list[RecordedRequest] = []
        self._canned: list[_Reply] = []
        self._stalls: list[float] = []
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._released.clear()
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = _serve_tls(self._server, self.certificate)
        return self

    def stop(self) -> None:
        self._released.set()  # wake any stalled handler so shutdown does not wait for it
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    # -- steering the next answers ---------------------------------------------------------

    def fail_next(
        self,
        status: int,
        message: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next request (whatever it is) gets ``status`` with a GitHub-shaped error body."""
        body: dict[str, Any] = {
            "message": message or _DEFAULT_MESSAGES.get(status, "Error"),
            "documentation_url": DOCS,
        }
        if errors is not None:
            body["errors"] = errors
        self.respond_next(status, body, headers)

    def respond_next(
        self, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        """The next request gets exactly this answer (a stale list, a race, an odd body)."""
        with self._lock:
            self._canned.append(_Reply(status, body, dict(headers or {})))

    def stall_next(self, seconds: float) -> None:
        """The next request waits ``seconds`` (or until stop) before it is answered."""
        with self._lock:
            self._stalls.append(seconds)

    def close_pull(self, repo: str, number: int, merged: bool = False) -> None:
        """Close (or merge) a pull request, as a reviewer would on GitHub."""
        with self._lock:
            for pull in self.pulls[repo.lower()]:
                if pull["number"] == number:
                    pull["state"] = "closed"
                    pull["merged"] = merged

    def requests_to(self, method: str, path_end: str = "/pulls") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_end)]

    # -- the API ---------------------------------------------------------------------------

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any) -> _Reply:
        with self._lock:
            parts = path.strip("/").split("/")
            if len(parts) != 4 or parts[0] != "repos" or parts[3] != "pulls":
                return _error(404, "Not Found")
            repo = f"{parts[1]}/{parts[2]}".lower()
            if repo not in self.pulls:
                return _error(404, "Not Found")
            if method == "GET":
                return _Reply(200, self._list(repo, query))
            if method == "POST":
                return self._create(repo, body)
            return _error(404, "Not Found")

    def _list(self, repo: str, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        head = query.get("head", "")
        pulls = self.pulls[repo]
        if state != "all":
            pulls = [p for p in pulls if p["state"] == state]
        if ":" in head:  # GitHub only filters on "owner:branch"
            pulls = [p for p in pulls if p["head"]["label"].lower() == head.lower()]
        if "base" in query:
            pulls = [p for p in pulls if p["base"]["ref"] == query["base"]]
        return sorted(pulls, key=lambda p: -int(p["number"]))

    def _create(self, repo: str, body: Any) -> _Reply:
        if not isinstance(body, dict):
            return _error(400, "Problems parsing JSON")
        missing = [k for k in ("title", "head", "base") if not isinstance(body.get(k), str)]
        if missing:
            return _validation(
                [{"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing]
            )
        owner = repo.split("/")[0]
        label = body["head"] if ":" in body["head"] else f"{owner}:{body['head']}"
        ref = label.split(":", 1)[1]
        problem = self._branch_problem(ref, body["base"])
        if problem:
            return _validation([problem])
        if any(
            p["head"]["label"].lower() == label.lower()
            and p["base"]["ref"] == body["base"]
            and p["state"] == "open"
            for p in self.pulls[repo]
        ):
            return _validation(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {label}.",
                    }
                ]
            )
        pull = self._new_pull(repo, label, ref, body)
        self.pulls[repo].append(pull)
        return _Reply(201, pull, {"Location": pull["url"]})

    def _new_pull(self, repo: str, label: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        number = 1 + sum(len(p) for p in self.pulls.values())
        return {
            "id": 1000 + number,
            "number": number,
            "state": "open",
            "merged": False,
            "draft": False,
            "title": body["title"],
            "body": body.get("body"),
            "url": f"{self.url}/repos/{repo}/pulls/{number}",
            "html_url": f"https://github.invalid/{repo}/pull/{number}",
            "head": {"ref": ref, "label": label, "sha": self._sha(ref)},
            "base": {"ref": body["base"], "label": f"{repo.split('/')[0]}:{body['base']}"},
        }

    def _branch_problem(self, head: str, base: str) -> dict[str, Any] | None:
        if self.git_dir is None:
            return None
        if not self._sha(head):
            return {"resource": "PullRequest", "field": "head", "code": "invalid"}
        if not self._sha(base):
            return {"resource": "PullRequest", "field": "base", "code": "invalid"}
        ahead = self._git("rev-list", "--count", f"refs/heads/{base}..refs/heads/{head}")
        if ahead == "0":
            return {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"No commits between {base} and {head}",
            }
        return None

    def _sha(self, branch: str) -> str | None:
        if self.git_dir is None:
            return None
        return self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")

    def _git(self, *args: str) -> str | None:
        done = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def _authorised(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        return scheme.lower() in {"bearer", "token"} and given == self.token

    def _take_stall(self) -> float:
        with self._lock:
            return self._stalls.pop(0) if self._stalls else 0.0

    def _take_canned(self) -> _Reply | None:
        with self._lock:
            if not self._canned:
                return None
            return self._canned.pop(0)


def _error(status: int, message: str) -> _Reply:
    return _Reply(status, {"message": message, "documentation_url": DOCS})


def _validation(errors: list[dict[str, Any]]) -> _Reply:
    return _Reply(
        422,
        {
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": DOCS,
            "status": "422",
        },
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what stall tests are about


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = _parse(raw)
        self.fake.requests.append(RecordedRequest(method, split.path, query, headers, body, raw))
        stall = self.fake._take_stall()
        if stall and self.fake._released.wait(stall):
            return  # stopped while stalled: drop the connection unanswered
        canned = self.fake._take_canned()
        if canned is not None:
            reply = canned
        elif not self.fake._authorised(headers.get("authorization", "")):
            missing = "authorization" not in headers
            reply = _error(401, "Requires authentication" if missing else "Bad credentials")
        elif raw and body is None:
            reply = _error(400, "Problems parsing JSON")
        else:
            reply = self.fake._answer(method, split.path, query, body)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        data = json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class OtherHost:
    """A server on another origin (``localhost``, its own port) that records every request.

    It stands for a host an attacker controls: the token tests send redirects and settings its
    way and then check that ``requests`` is empty. It answers 200 ``{}`` to anything, so a client
    that did reach it would not fail loudly.
    """

    def __init__(self, certificate: Certificate | None = None) -> None:
        self.certificate = certificate or default_certificate()
        self.requests: list[RecordedRequest] = []
        self._server: _QuietServer | None = None

    def __enter__(self) -> OtherHost:
        handler = type("Handler", (_RecordingHandler,), {"other": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = _serve_tls(self._server, self.certificate)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("OtherHost is not started")
        return f"https://localhost:{self._server.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    other: OtherHost
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.other.requests.append(
            RecordedRequest(self.command, split.path, query, headers, _parse(raw), raw)
        )
        data = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _record
