"""The line reader for files in ``dumps`` shape agrees with the full YAML path, always."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maia_git.errors import StateFileError
from maia_git.storage import yamlfast, yamlio

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
    st.sampled_from(
        [
            "null",
            "true",
            "1e3",
            "2024-01-01",
            "yes",
            "~",
            "-",
            "a: b",
            "#x",
            "exp_001",
            "agents/a.md",
            "0x1F",
            "Null",
            "é",
            "\\u00e9",
        ]
    ),
)
keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(keys, scalars, max_size=3)
)


def full(raw: bytes) -> object:
    """The YAML path alone."""
    try:
        node = yamlio._compose(raw.decode("utf-8"), "f")
        return yamlio._Builder("f").build(node, 0)
    except StateFileError as err:
        return ("error", str(err))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=6))
def test_what_dumps_writes_reads_back_the_same_both_ways(data: dict) -> None:
    raw = yamlio.dumps(data)
    quick = yamlfast.fast_load(raw.decode())
    assert yamlio.loads(raw, "f").data == data
    if quick is not None:
        assert quick[0] == full(raw) == data


line = st.one_of(
    st.from_regex(r"[a-zA-Z_]{1,6}: ?[ -~]{0,12}", fullmatch=True),
    st.from_regex(r"  (- |[a-z]{1,4}: )[ -~]{0,10}", fullmatch=True),
    st.sampled_from(
        [
            "",
            "# c",
            "---",
            "a:",
            "  - x",
            "true: 1",
            "  - ",
            "a: b # c",
            'a: "x\\/y"',
            "a: 0x1F",
            "b: 1.5e3",
            "c: -0",
            "d: .5",
            "e: 01",
        ]
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(line, min_size=1, max_size=6))
def test_any_text_the_line_reader_accepts_means_the_same_in_yaml(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    quick = yamlfast.fast_load(text)
    if quick is not None:
        assert quick[0] == full(text.encode())


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",
        "a: !!python/object:os.system x\n",
        "",
        "# only a comment\n",
        "true: 1\n",
        "a: [1]\n",
    ],
)
def test_the_line_reader_leaves_everything_else_to_yaml(text: str) -> None:
    assert yamlfast.fast_load(text) is None
