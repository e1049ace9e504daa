"""The GitHub REST API, as far as promotion needs it: find and open pull requests.

Standard library only (urllib), so the package gains no dependency for two endpoints. Every
failure becomes a MaiaError with one line that names the cause and what to do about it.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from maia_git import __version__
from maia_git.core.escape import clip, shown
from maia_git.errors import MaiaError, UsageError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"

# owner: letters, digits, '-'; name: also '.' and '_' (GitHub's own rules for both).
_SLUG = r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<name>[A-Za-z0-9._-]+?)(?:\.git)?/?"
_URL_FORMS = (
    re.compile(rf"(?:https?|ssh|git)://(?:[^@/]+@)?[^/]+/{_SLUG}"),  # URL forms, any port
    re.compile(rf"(?:[^@/:]+@)?[A-Za-z0-9.-]+:{_SLUG}"),  # scp-like: git@host:owner/name
)


class GitHubError(MaiaError):
    """GitHub answered with an error status; ``status`` keeps it for callers that recover."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def parse_repo_slug(remote_url: str) -> str:
    """Return "owner/name" from a GitHub remote URL (https, ssh, scp-like; .git optional)."""
    for form in _URL_FORMS:
        match = form.fullmatch(remote_url.strip())
        if match and match["name"] not in {".", ".."}:
            return f"{match['owner']}/{match['name']}"
    shown = re.sub(r"//[^@/]+@", "//***@", remote_url)  # a URL may carry a token: never print it
    raise UsageError(
        f"cannot tell the GitHub repository from the remote URL {shown!r}: "
        "set GITHUB_REPOSITORY=owner/name"
    )


def check_slug(slug: str) -> str:
    """Return ``slug`` if it is "owner/name", else raise UsageError."""
    match = re.fullmatch(_SLUG, slug)
    if not match or match["name"] in {".", ".."} or slug.endswith((".git", "/")):
        raise UsageError(f"GitHub repository {slug!r} is not of the form owner/name")
    return slug


def repo_from(environ: Mapping[str, str], remote_url: str | None) -> str:
    """GITHUB_REPOSITORY (set in Actions), else the slug in the remote URL."""
    slug = environ.get("GITHUB_REPOSITORY", "").strip()
    if slug:
        return check_slug(slug)
    if not remote_url:
        raise UsageError("no GitHub repository: set GITHUB_REPOSITORY=owner/name or add a remote")
    return parse_repo_slug(remote_url)


def token_from_env(environ: Mapping[str, str]) -> str:
    """GITHUB_TOKEN, else GH_TOKEN (the GitHub CLI's name), else a MaiaError."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        token = environ.get(name, "").strip()
        if token:
            return token
    raise MaiaError("no token: set GITHUB_TOKEN or GH_TOKEN")


def timeout_from(environ: Mapping[str, str]) -> float:
    """MAIA_GITHUB_TIMEOUT: seconds to wait for each GitHub answer (default 10, at most 600)."""
    raw = environ.get("MAIA_GITHUB_TIMEOUT", "").strip()
    if not raw:
        return 10.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 600):
        raise UsageError(
            f"MAIA_GITHUB_TIMEOUT must be a number of seconds above 0 and at most 600, "
            f"not {shown(raw)}"
        )
    return value


def api_url_from(environ: Mapping[str, str]) -> str:
    """GITHUB_API_URL (Actions sets it; GitHub Enterprise too), else the public API.

    Only the environment names the host the token is sent to: never repository content, which a
    pull request can change.
    """
    return check_api_url(environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL)


def check_api_url(url: str) -> str:
    """Return ``url`` without its trailing slash if it is an https URL with a host, else refuse."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise UsageError(
            f"GitHub API URL {clip(url)!r} must be https://HOST[/PATH] "
            "(the token is never sent over plain http)"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"GitHub API URL {clip(url)!r} must not have a query or a fragment")
    return url.rstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port if parts.port is not None else {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port: the token goes nowhere else."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        target = urllib.parse.urljoin(req.full_url, newurl)
        if _origin(target) != _origin(req.full_url):
            fp.close()
            raise GitHubError(
                f"GitHub at {clip(req.full_url)} redirected ({code}) to another host "
                f"({clip(target)}): not followed, the token is only sent to the API host",
                code,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class GitHubClient:
    """The pull-request endpoints of one repository."""

    def __init__(self, api_url: str, token: str, repo: str, timeout: float = 10.0) -> None:
        self.api_url = check_api_url(api_url)
        self.token = token
        self.repo = check_slug(repo)
        self.owner = self.repo.split("/")[0]
        self.timeout = timeout

    def find_open_pull(self, head_branch: str, base: str) -> dict[str, Any] | None:
        """The open pull request from ``head_branch`` (in this repository) into ``base``."""
        # GitHub ignores a head filter without "owner:", and would list every open pull request.
        query = {"head": f"{self.owner}:{head_branch}", "base": base, "state": "open"}
        pulls = self._request("GET", f"/pulls?{urllib.parse.urlencode(query)}")
        if not isinstance(pulls, list):
            raise MaiaError(
                f"GitHub sent an unexpected answer listing pull requests of {self.repo}"
            )
        return pulls[0] if pulls else None

    def create_pull(self, head: str, base: str, title: str, body: str) -> dict[str, Any]:
        """Open a pull request from branch ``head`` into ``base``; 201 gives the new pull."""
        payload = {"head": head, "base": base, "title": title, "body": body}
        pull = self._request("POST", "/pulls", payload)
        if not isinstance(pull, dict):
            raise MaiaError(
                f"GitHub sent an unexpected answer creating a pull request in {self.repo}"
            )
        return pull

    def open_or_reuse_pull(
        self, head: str, base: str, title: str, body: str
    ) -> tuple[dict[str, Any], bool]:
        """The open pull request for head -> base, opened if there is none: (pull, created)."""
        existing = self.find_open_pull(head, base)
        if existing is not None:
            return existing, False
        try:
            return self.create_pull(head, base, title, body), True
        except GitHubError as err:
            # Another run may have opened it between our look and our POST (two pushes racing).
            again = self.find_open_pull(head, base) if err.status == 422 else None
            if again is None:
                raise
            return again, False

    def _request(self, method: str, path: str, payload: object = None) -> Any:
        url = f"{self.api_url}/repos/{self.repo}{path}"
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers=self._headers())
        try:
            opener = urllib.request.build_opener(_SameOriginRedirects)
            with opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise _status_error(err, self.repo, self.api_url) from err
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as err:
            raise _transport_error(err, method, url, self.timeout) from err
        try:
            return json.loads(raw) if raw else None
        except ValueError as err:
            raise MaiaError(f"GitHub at {url} answered with something that is not JSON") from err

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"maia-git/{__version__}",
            "Content-Type": "application/json",
        }


def _status_error(err: urllib.error.HTTPError, repo: str, api_url: str) -> GitHubError:
    status, body = err.code, _error_body(err)
    said = _one_line(str(body.get("message") or err.reason or ""))
    if status == 401:
        text = f"GitHub rejected the token (401 {said}): check GITHUB_TOKEN or GH_TOKEN"
    elif status == 429 or (status == 403 and _rate_limited(err, said)):
        text = f"GitHub rate limit reached ({status} {said}): wait and promote again"
    elif status == 403 and "not permitted to create" in said:
        text = (
            f"GitHub refused the pull request (403 {said}): enable 'Allow GitHub Actions to "
            "create and approve pull requests' in the repository's Settings > Actions > General"
        )
    elif status == 403:
        text = (
            f"the token lacks permission on {repo} (403 {said}): it needs contents and "
            "pull-requests write access (in Actions: permissions: pull-requests: write)"
        )
    elif status == 404:
        text = f"repository {repo} not found at {api_url}, or the token cannot see it (404)"
    elif status == 422:
        text = f"GitHub refused the pull request (422): {_validation_details(body) or said}"
    else:
        text = f"GitHub answered {status} {said} for {err.url}"
    return GitHubError(text, status)


def _transport_error(err: BaseException, method: str, url: str, timeout: float) -> MaiaError:
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, TimeoutError):
        return MaiaError(f"GitHub at {url} did not answer within {timeout:g} s ({method})")
    return MaiaError(
        f"could not reach GitHub at {url}: {_one_line(str(reason)) or type(reason).__name__}"
    )


def _error_body(err: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        body = json.loads(err.read() or b"{}")
    except (ValueError, OSError):
        return {}
    return body if isinstance(body, dict) else {}


def _rate_limited(err: urllib.error.HTTPError, said: str) -> bool:
    # GitHub's documented signal: x-ratelimit-remaining 0 (primary) or a message (secondary).
    return err.headers.get("x-ratelimit-remaining") == "0" or "rate limit" in said.lower()


def _validation_details(body: Mapping[str, Any]) -> str:
    """GitHub's 422 errors: custom ones carry a message, field ones a field and a code."""
    parts = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            field = " ".join(str(item[k]) for k in ("field", "code") if item.get(k))
            parts.append(_one_line(str(item.get("message") or field)))
        elif isinstance(item, str):
            parts.append(_one_line(item))
    return "; ".join(p for p in parts if p)


def _one_line(text: str) -> str:
    return clip(" ".join(text.split()), 160)
