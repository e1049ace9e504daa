"""Regenerate maia_git/spec/assignment-vectors.csv from the assignment rule, written out again here.

This file deliberately imports nothing from maia_git: it is the second implementation the vectors
are checked against (tests/core/test_assign.py runs it and compares the output byte for byte).

    python scripts/make_vectors.py            # rewrite the file
    python scripts/make_vectors.py --check    # exit 1 if the file differs
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "maia_git" / "spec" / "assignment-vectors.csv"

EXPERIMENTS = (
    "exp_001",
    "exp_002",
    "exp_042",
    "checkout-flow",
    "a",
    "prompt_test_7",
    "planner_v2-rollout",
    "x" * 64,
)

SPECIAL_USERS = (
    # Non-ASCII: accents (precomposed and decomposed are different ids: no normalisation).
    "José",
    "Jose\u0301",
    "Zoë",
    "Ünïcödé",
    "Ångström",
    "Łódź",
    "Ελληνικά",
    "Кириллица",
    "מִשְׁתַּמֵּשׁ",
    "مستخدم",
    "उपयोगकर्ता",
    "ผู้ใช้",
    # CJK.
    "用户",
    "使用者一号",
    "ユーザー",
    "사용자",
    # Emoji, including a ZWJ sequence, a flag and a skin tone.
    "🙂",
    "user🚀42",
    "👩\u200d💻",
    "🇫🇷",
    "👍🏽",
    # Other characters a runtime might send: spaces, NBSP, CSV quoting, JSON and shell specials.
    " leading space",
    "trailing space ",
    "two  spaces",
    "non\u00a0breaking",
    "comma,separated",
    'a "quoted" id',
    "semi;colon",
    "back\\slash",
    "single'quote",
    "{json}",
    "$HOME",
    "null",
    "-1",
    "1e3",
    "user:with:colons",
    "exp_001:user",
    ":",
    "x",
    # Emails and common id shapes.
    "alice@example.com",
    "bob.smith+tag@mail.example.org",
    "ÉLODIE@exemple.fr",
    "张伟@例子.公司",
    "550e8400-e29b-41d4-a716-446655440000",
    "auth0|5f1b2c3d4e5f6a7b8c9d0e1f",
    "urn:user:12345",
    "https://example.com/users/7",
    # Long ids.
    "u" * 256,
    "long-" + "0123456789" * 100,
    "é" * 300,
    "用户" * 200,
    "🙂" * 150,
)


def bucket(experiment_id: str, user_id: str) -> int:
    digest = hashlib.md5(f"{experiment_id}:{user_id}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def users() -> list[str]:
    plain = [f"user_{i}" for i in range(1, 81)] + [str(i) for i in range(40)]
    return plain + list(SPECIAL_USERS)


def render() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["experiment_id", "user_id", "bucket", "arm"])
    for experiment_id in EXPERIMENTS:
        for user_id in users():
            b = bucket(experiment_id, user_id)
            writer.writerow([experiment_id, user_id, b, "control" if b < 5000 else "treatment"])
    return out.getvalue()


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        same = OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs: rerun {argv[0]}")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8", newline="")
    print(f"wrote {text.count(chr(10)) - 1} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
