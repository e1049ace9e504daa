"""Regenerate maia_git/spec/interaction.schema.json from the table of field rules.

The schema is derived from ``maia_git.core.fields``, like every reader of log lines; the tests
check that the shipped file is exactly this output.

    python scripts/make_schema.py            # rewrite the file
    python scripts/make_schema.py --check    # exit 1 if the file differs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maia_git.core.fields import schema  # noqa: E402

OUT = ROOT / "maia_git" / "spec" / "interaction.schema.json"


def text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if "--check" in argv:
        same = OUT.read_text(encoding="utf-8") == text()
        print("up to date" if same else f"{OUT} differs: run python scripts/make_schema.py")
        return 0 if same else 1
    OUT.write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
