"""The line reader (``yamlfast``) means what ruamel.yaml means, on every document it answers for.

Documents are generated near the shape maia writes and then roughened: unicode line separators
(U+2028, U+2029, U+0085), carriage returns, C0 and C1 controls, DEL, a BOM, tabs and trailing
blanks, every quoting style, comments, anchors and aliases, tags, flow collections, YAML words,
odd numbers and keys past YAML's 1,024-character limit. Wherever the line reader returns a value,
the full ruamel.yaml path must succeed with the same value (types included) and the same
positions. Each example holds at least 5 documents and 2,000 examples run: at least 10,000
documents.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maia_git.errors import StateFileError
from maia_git.storage import yamlfast, yamlio

TRICKY = (
    "\u2028\u2029\x85\x7f\x80\x9b\x9f\x00\x01\x1b\t\r\ufeff\ufffe\ud7ff\ue000"
    " #:\"'\\/&*!|>-[]{},%@`~é€😀"
)
SAFE_CHARS = " #:\"'\\&*!|>-[]{},%@`~é€😀\n\tab"

# Drawing a whole line from a pool costs hypothesis one choice: the 10,000 documents stay quick.
CLEAN_KEYS = ["a", "b", "id", "name", "control_share", "x_1", "_k", "Key", "k" * 64]
CLEAN_TOKENS = [
    "null", "true", "false", "0", "-1", "12", "-0", "1.5", "-0.25", "0.0", "exp_001",
    "agents/a.md", "a-b", "x.y", "[]", "{}", '"x y"', '"é"', '"a\\"b"', '"\\n\\t"', '"null"',
    '"1e3"', '"# no comment"', '"a: b"', '"😀"', '""', '"\\\\"', '"\\b\\f\\r"',
    "123456789012345678",
]  # fmt: skip
ROUGH_TOKENS = [
    "Null", "NULL", "~", "True", "TRUE", "yes", "no", "on", "off", "y", "n", "nan", ".nan",
    ".NaN", "inf", ".inf", "-.INF", "2024-01-01", "2024-01-01T00:00:00Z", "12:30", "0x1F",
    "0o17", "0b101", "0_7", "0x_", "1_000", "1e3", "1E3", "1.5e3", ".5", "5.", "+1", "01",
    "1.0e1", "1234567890123456789", "1" * 40, "[1, 2]", "{a: 1}", "&a 1", "*a", "!!str 1",
    "!!int 1.5", "!!map x", "!!seq xy", "!!str [1,2]", "! x", "'single'", "'it''s'", "|", ">",
    "- x", "? x", "%x", "@x", "`x`", "a # c", "a#b", "a: b", "a:b", '"\\/"', '"\\u00e9"',
    '"\\ud83d\\ude00"', '"\\x41"', '"\\N"', '"\\_"', '"\\L"', '"\\P"', '"\\0"', '"\\e"',
    '"a" "b"', '"a"b', '"a', '"a"  ', '"a" # c', "a ", "é", "€x", "0.1234567890123456789",
]  # fmt: skip
ROUGH_KEYS = [
    "y", "n", "yes", "null", "true", "on", "Inf", "0x1", "a b", '"k"', "-k", "k" * 65,
    "k" * 1025, "é", "? a", "<<", "a:", "",
]  # fmt: skip
ROUGH_LINES = [" ", "\t", "---", "...", "  # c", "    - x", " - x", "- x", "a: &x 1", "b: *x"]
ROUGH_BREAKS = ["\r\n", "\r", "\u2028", "\u2029", "\x85", "\t", " ", "\ufeff"]

texts = st.text(alphabet=TRICKY + "ab", max_size=8)
clean_tokens = st.sampled_from(CLEAN_TOKENS) | st.builds(
    lambda t: json.dumps(t, ensure_ascii=False), st.text(SAFE_CHARS, max_size=6)
)
rough_tokens = st.one_of(
    st.sampled_from(ROUGH_TOKENS),
    texts,
    st.builds(json.dumps, texts),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
)
clean_keys = st.sampled_from(CLEAN_KEYS)
rough_keys = st.sampled_from(ROUGH_KEYS)
rough_lines = st.one_of(
    st.builds(lambda k, t: f"{k}: {t}", rough_keys, clean_tokens),
    st.builds(lambda k, t: f"{k}: {t}", clean_keys, rough_tokens),
    st.builds(lambda t: f"  - {t}", rough_tokens),
    st.builds(lambda k, t: f"  {k}: {t}", clean_keys | rough_keys, clean_tokens | rough_tokens),
    st.builds(lambda k: f"{k}:", clean_keys),
    st.builds(lambda k: f"  {k}:", clean_keys | rough_keys),
    st.builds(lambda k, t: f"    {k}: {t}", clean_keys | rough_keys, clean_tokens | rough_tokens),
    st.builds(lambda k, t: f"   {k}: {t}", clean_keys, clean_tokens),
    st.sampled_from(ROUGH_LINES),
)


@st.composite
def clean_document(draw: st.DrawFn) -> list[str]:
    """Lines in the shape ``dumps`` writes, with comments and blank lines between them."""
    keys = draw(st.lists(clean_keys, min_size=1, max_size=3, unique=True))
    lines: list[str] = []
    for key in keys:
        shape = draw(st.integers(0, 5))
        if shape <= 1:
            lines.append(f"{key}: {draw(clean_tokens)}")
        elif shape == 2:
            lines.append(f"{key}:")
            lines += [f"  - {t}" for t in draw(st.lists(clean_tokens, min_size=1, max_size=3))]
        elif shape == 3:
            lines.append(f"{key}:")
            names = draw(st.lists(clean_keys, min_size=1, max_size=3, unique=True))
            lines += [f"  {n}: {draw(clean_tokens)}" for n in names]
        elif shape == 5:  # one level deeper, as pinned prompts are written
            lines.append(f"{key}:")
            for name in draw(st.lists(clean_keys, min_size=1, max_size=2, unique=True)):
                lines.append(f"  {name}:")
                subs = draw(st.lists(clean_keys, min_size=1, max_size=3, unique=True))
                lines += [f"    {n}: {draw(clean_tokens)}" for n in subs]
        else:
            lines.append(draw(st.sampled_from(["", "# a comment", "#", "# key: 1", "#\tx"])))
            lines.append(f"{key}: {draw(clean_tokens)}")
    return lines


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Lines as maia writes them; in half of the documents, one rough piece somewhere."""
    lines = draw(clean_document())
    how = draw(st.integers(0, 5))
    if how == 3:
        lines.insert(draw(st.integers(0, len(lines))), draw(rough_lines))
    text = "\n".join(lines) + "\n"
    if how == 4:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(TRICKY)) + text[at:]
    elif how == 5:
        text = text.replace("\n", draw(st.sampled_from(ROUGH_BREAKS)), draw(st.integers(1, 3)))
    return text


def typed(value: Any) -> Any:
    """A form of ``value`` in which 1, 1.0 and True, or 0.0 and -0.0, differ."""
    if isinstance(value, dict):
        return ("map", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def check_agreement(text: str) -> bool:
    quick = yamlfast.fast_load(text)
    if quick is None:
        return False  # ruamel.yaml reads it: nothing to disagree with
    full = yamlio.full_load(text, "f")  # must not raise where the line reader answered
    assert typed(quick[0]) == typed(full.data), text
    assert quick[1] == full.marks, text
    return True


@settings(
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(documents(), min_size=5, max_size=5))
def test_the_line_reader_agrees_with_ruamel_yaml(texts_: list[str]) -> None:
    for text in texts_:
        check_agreement(text)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        clean_keys | rough_keys.filter(lambda k: len(k) < 100), texts | st.text(), min_size=1
    )
)
def test_what_maia_writes_reads_back_the_same_everywhere(data: dict[str, str]) -> None:
    raw = yamlio.dumps(data)
    assert raw.isascii() or not any(c in raw.decode() for c in "\u2028\u2029\x85\ufeff")
    assert yamlio.loads(raw, "f").data == data
    assert yamlio.full_load(raw.decode(), "f").data == data
    # A clone with core.autocrlf=true has \r\n line ends: the values stay the same.
    assert yamlio.full_load(raw.decode().replace("\n", "\r\n"), "f").data == data


def test_the_generator_reaches_both_readers() -> None:
    # A property that never reaches the line reader would prove nothing: check that a good part of
    # what the generator makes is answered by it, and a good part is not.
    answered = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(documents())
    def sample(text: str) -> None:
        answered.append(check_agreement(text))

    sample()
    assert 0.2 < sum(answered) / len(answered) < 0.8


def test_known_disagreements_are_left_to_ruamel_yaml() -> None:
    for text in [
        'a: "A \u2028 B\x85C"\n',
        'a: "\x7f\x9f"\n',
        "a: x\t\n",
        'a: "x"\t\n',
        "k" * 1025 + ": 1\n",
        "\ufeffa: 1\n",
        "a: 1\r\nb: 2\n",
    ]:
        assert yamlfast.fast_load(text) is None, text


def test_the_line_reader_never_accepts_what_the_limits_refuse() -> None:
    # 1,200 list items in the shape maia writes: too many values for a state file, on both paths.
    text = "items:\n" + "".join(f"  - {i}\n" for i in range(1200))
    with pytest.raises(StateFileError, match="more than 1000 values"):
        yamlio.loads(text.encode(), "f")
