"""The report in a real headless browser: the distribution's Chromium, driven by playwright
(which is told where that Chromium is: it downloads no browser of its own).

For this repository's own example workspace, a generated one (three experiments, two agents,
hostile names) and one with an experiment of three arms: every page loads with no console
error and no request leaving the report's folder, no script is on any page, every chart is
drawn at its size, every link leads to a page of the report, and every number in a table is
the one `maia exp analyze --json` gives.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import IDENTITY, run_cli
from reportspace import HOSTILE_NAME, make_arms_workspace, make_workspace

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
    )
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium on this machine: the report's browser test needs the distribution's "
            "chromium package (Debian: apt-get install chromium; .ci/run installs it)"
        )
    manager = sync_api.sync_playwright()
    try:
        p = manager.__enter__()
    except Exception as err:  # playwright's own driver (a program it ships) does not run here
        pytest.skip(f"playwright does not start here: {_first_line(err)}")
    try:
        try:
            # Minutes, not playwright's 30 s: a loaded machine starts a browser slowly.
            launched = p.chromium.launch(executable_path=CHROMIUM, timeout=300_000)
        except sync_api.Error as err:
            pytest.skip(f"Chromium at {CHROMIUM} does not start here: {_first_line(err)}")
        yield launched
        launched.close()
    finally:
        manager.__exit__(None, None, None)


def _first_line(err: Exception) -> str:
    return next(iter(str(err).strip().splitlines()), type(err).__name__)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**IDENTITY, "HOME": str(home), "MAIA_WRITER": "test-writer",
                           "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}.items():  # fmt: skip
            mp.setenv(key, value)
        top = tmp_path_factory.mktemp("gen") / "workspace"
        make_workspace(top)
    yield top


def build(top: Path, out: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The report's pages, and `maia exp analyze --json` of each of its experiments."""
    done = run_cli(["report", "--out", str(out), "--json"], top, timeout=600)
    assert done.returncode == 0, done.stderr
    pages = json.loads(done.stdout)["pages"]
    analyses = {}
    for page in pages:
        if m := re.fullmatch(r"experiment-(.+)\.html", page):
            shown = run_cli(["exp", "analyze", m[1], "--json"], top)
            assert shown.returncode == 0, shown.stderr
            analyses[m[1]] = json.loads(shown.stdout)
    return pages, analyses


@pytest.mark.parametrize("which", ["example", "generated", "three arms"])
def test_every_page_in_chromium(which: str, browser: Any, generated: Path, tmp_path: Path) -> None:
    if which == "three arms":  # every arm of an experiment with several treatments
        top = tmp_path / "arms"
        make_arms_workspace(top)
    else:
        top = ROOT if which == "example" else generated
    out = tmp_path / "site"
    pages, analyses = build(top, out)
    assert "index.html" in pages and analyses
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(300_000)  # only against a hang: the pages are local files
    try:
        checked = sum(check_page(context, out, page, analyses) for page in pages)
    finally:
        context.close()
    assert checked >= 12 * len(analyses)  # the check compared numbers, not nothing
    if which == "generated":
        assert len(pages) == 6


def check_page(context: Any, out: Path, name: str, analyses: dict[str, Any]) -> int:
    """Load one page; check it; return how many numbers were compared with the analysis."""
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / name).as_uri(), wait_until="load")
    folder = out.as_uri() + "/"
    assert errors == [], f"{name}: {errors}"
    assert requests and all(url.startswith(folder) for url in requests), requests
    assert page.evaluate("document.scripts.length") == 0
    check_links(page, out, name)
    check_charts(page, name)
    if name.startswith("experiment-"):
        exp_id = name.removeprefix("experiment-").removesuffix(".html")
        compared = check_numbers(page, lambda key: lookup(analyses[exp_id], key))
    elif name == "index.html":
        compared = check_numbers(page, lambda key: lookup(analyses[key.split(":")[0]],
                                                          key.split(":", 1)[1]))  # fmt: skip
        if any(a["name"] == HOSTILE_NAME for a in analyses.values()):
            assert HOSTILE_NAME in page.inner_text("#experiments")  # shown as text
    else:
        compared = 0
    page.close()
    return compared


def check_links(page: Any, out: Path, name: str) -> None:
    for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))"):
        assert "/" not in href and (out / href).is_file(), f"{name}: dangling link {href}"


def check_charts(page: Any, name: str) -> None:
    from PIL import Image

    images = page.query_selector_all("img")
    for img in images:
        info = img.evaluate(
            "i => ({src: i.getAttribute('src'), done: i.complete, w: i.naturalWidth,"
            " h: i.naturalHeight, width: +i.getAttribute('width'),"
            " height: +i.getAttribute('height')})"
        )
        assert info["done"] and info["w"] > 0, f"{name}: {info['src']} not drawn"
        assert abs(info["w"] - info["width"]) <= 1 and abs(info["h"] - info["height"]) <= 1, info
        shot = Image.open(io.BytesIO(img.screenshot())).convert("RGB")
        colours = shot.getcolors(maxcolors=1 << 16) or [(0, (0, 0, 0))] * 999
        inked = sum(n for n, rgb in colours if sum(rgb) < 600)
        assert len(colours) > 8 and inked > 0.005 * shot.width * shot.height, (
            f"{name}: {info['src']} looks blank"
        )


def lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if data is None:  # an interval that is not there: each bound is shown as none
            return None
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def check_numbers(page: Any, expected_of: Any) -> int:
    cells = page.eval_on_selector_all(
        "[data-key]",
        "cs => cs.map(c => ({key: c.dataset.key, value: c.dataset.value, text: c.textContent}))",
    )
    for cell in cells:
        expected = expected_of(cell["key"])
        assert json.loads(cell["value"]) == expected, cell
        assert shows(cell["text"].strip(), expected), cell
    return len(cells)


_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(?:\.([0-9]+))?")


def shows(text: str, value: Any) -> bool:
    """Whether ``text`` is ``value`` as a reader sees it (rounded, maybe as a percentage)."""
    if value is None:
        return text == "–"
    if isinstance(value, bool):
        return text.startswith("mismatch") if value else text == "ok"
    if text.startswith("< "):
        return bool(value < float(text[2:]))
    match = _NUMBER.search(text)
    if match is None:
        return False
    number = float(match[0].replace(",", ""))
    scale = 100 if text.endswith("%") else 1
    half_unit = 0.5 * 10 ** -len(match[1] or "")
    return abs(number - value * scale) <= half_unit + 1e-9
