"""Make docs/images/report-overview.png and report-experiment.png: `maia report` of a generated
workspace (the one the report's tests use), photographed by the distribution's Chromium through
playwright, as the browser test opens it. Needs the test extra and chromium.

    python scripts/report_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from reportspace import make_workspace  # noqa: E402

IDENTITY = {"GIT_AUTHOR_NAME": "Ada Example", "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Example", "GIT_COMMITTER_EMAIL": "ada@example.com",
            "MAIA_WRITER": "docs"}  # fmt: skip
SHOTS = {"index.html": "report-overview.png", "experiment-exp_001.html": "report-experiment.png"}


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no chromium: apt-get install chromium")
    os.environ.update(IDENTITY)
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp) / "acme-support"
        make_workspace(top, hostile=False)
        out = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "maia_git", "report", "--out", str(out)],
                       cwd=top, check=True)  # fmt: skip
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            for name, image in SHOTS.items():
                page.goto((out / name).as_uri(), wait_until="load")
                page.screenshot(path=ROOT / "docs" / "images" / image, full_page=True)
            browser.close()
    print("wrote", ", ".join(f"docs/images/{image}" for image in SHOTS.values()))


if __name__ == "__main__":
    main()
