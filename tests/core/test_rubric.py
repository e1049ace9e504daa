"""The quality scorer's pure core: rubric, formulas, bands, records and time-window averages."""

from __future__ import annotations

import ast
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia_git.core import rubric as rubric_module
from maia_git.core import scoring as scoring_module
from maia_git.core.rubric import (
    DEFAULT_RUBRIC,
    Budgets,
    Criterion,
    Rubric,
    parse_rubric,
    task_completion,
    validate_response,
)
from maia_git.core.scoring import (
    Score,
    average,
    band_for,
    check_record,
    report,
    score_record,
    score_response,
)
from maia_git.errors import UsageError

# The example response of the reference guide's scoring section: every field perfect.
GUIDE_EXAMPLE: dict[str, Any] = {
    "status": "completed",
    "requirements": ["req1", "req2", "req3"],
    "addressed_requirements": ["req1", "req2", "req3"],
    "validation_performed": True,
    "edge_cases_considered": True,
    "tools_used": ["correct_tool_1", "correct_tool_2"],
    "expected_tools": ["correct_tool_1", "correct_tool_2"],
    "systematic_planning": True,
    "logical_breakdown": True,
    "explanation_quality": "excellent",
    "token_count": 500,
    "execution_time_seconds": 5.0,
}
NOW = datetime(2025, 10, 12, 12, 0, tzinfo=UTC)


def with_(**changes: Any) -> dict[str, Any]:
    """The guide's example with some fields changed; a value of ... removes the field."""
    data = dict(GUIDE_EXAMPLE)
    for name, value in changes.items():
        if value is ...:
            del data[name]
        else:
            data[name] = value
    return data


def only(name: str, weight: float = 100, **budgets: float) -> Rubric:
    """A rubric of one criterion, so that overall equals that criterion's score."""
    return parse_rubric({"weights": {name: weight}, "budgets": budgets})


def usage_error(match: str) -> Any:
    return pytest.raises(UsageError, match=match)


# --- the guide's examples -------------------------------------------------------------------------


def test_guide_example_scores_100_with_no_feedback() -> None:
    score = score_response(GUIDE_EXAMPLE)

    assert score == Score(100.0, dict.fromkeys(rubric_module.FORMULAS, 100.0), "exceptional", [])


def test_guide_integration_example_scores_100() -> None:
    # Section "Step 2" of the guide: 850 tokens and 6.5 s are within the default budgets.
    data = with_(
        requirements=["design_azure_architecture", "cost_optimization"],
        addressed_requirements=["design_azure_architecture", "cost_optimization"],
        tools_used=["azure_pricing_api", "terraform_generator"],
        expected_tools=["azure_pricing_api", "terraform_generator"],
        token_count=850,
        execution_time_seconds=6.5,
    )

    assert score_response(data).overall == 100.0


# --- task completion: requirements 50, status 20, validation 15, edge cases 15 -------------------


@pytest.mark.parametrize(
    ("addressed", "expected"),
    [
        (["req1", "req2", "req3"], 100.0),
        (["req1", "req2"], 50 + 50 * 2 / 3),
        (["req1"], 50 + 50 / 3),
        ([], 50.0),
        (["req1", "other", "req1"], 50 + 50 / 3),  # extras and repeats earn nothing more
    ],
)
def test_requirements_addressed_fraction(addressed: list[str], expected: float) -> None:
    score = score_response(with_(addressed_requirements=addressed))

    assert score.criteria["task_completion"] == round(expected, 2)
    assert score.overall == round(0.4 * expected + 60, 2)


def test_no_requirements_means_nothing_left_undone() -> None:
    score = score_response(with_(requirements=[], addressed_requirements=[]))

    assert score.criteria["task_completion"] == 100.0


def test_unaddressed_requirements_are_named() -> None:
    score = score_response(with_(addressed_requirements=["req2"]))

    assert score.feedback == [
        "Task completion lost 13.33 points: addressed 1 of 3 requirements "
        "(not addressed: req1, req3)."
    ]


@pytest.mark.parametrize(
    ("changes", "expected", "named"),
    [
        ({"status": "partial"}, 90.0, "status is 'partial'"),
        ({"status": "failed"}, 80.0, "status is 'failed'"),
        ({"validation_performed": False}, 85.0, "no validation was performed"),
        ({"edge_cases_considered": False}, 85.0, "edge cases were not considered"),
        ({"status": ...}, 80.0, "status is missing"),
        ({"requirements": ...}, 50.0, "requirements is missing"),
        ({"addressed_requirements": ...}, 50.0, "addressed_requirements is missing"),
        (
            {"validation_performed": ..., "edge_cases_considered": None},
            70.0,
            "edge_cases_considered is missing",
        ),
        (
            {
                "status": "failed",
                "validation_performed": False,
                "edge_cases_considered": False,
                "addressed_requirements": [],
            },
            0.0,
            "not addressed: req1, req2, req3",
        ),
    ],
)
def test_task_completion_parts(changes: dict[str, Any], expected: float, named: str) -> None:
    score = score_response(with_(**changes))

    assert score.criteria["task_completion"] == expected
    assert any(named in sentence for sentence in score.feedback)


def test_both_requirement_lists_missing_are_named_together() -> None:
    score = score_response(with_(requirements=..., addressed_requirements=...))

    assert score.feedback == [
        "Task completion lost 20 points: requirements and addressed_requirements are missing, "
        "counted as not done."
    ]


# --- tool accuracy: |used ∩ expected| / |used ∪ expected| over multisets -------------------------


@pytest.mark.parametrize(
    ("used", "expected_tools", "value"),
    [
        (["a", "b"], ["a", "b"], 100.0),
        (["b", "a"], ["a", "b"], 100.0),  # order does not matter
        (["a", "b", "c"], ["a", "b"], 100 * 2 / 3),  # one redundant tool
        (["a"], ["a", "b"], 50.0),  # one missing tool
        (["a", "a", "b"], ["a", "b"], 100 * 2 / 3),  # a repeated call is redundant
        (["a", "b"], ["a", "a", "b"], 100 * 2 / 3),  # a tool expected twice, used once
        (["c"], ["a", "b"], 0.0),
        ([], ["a", "b"], 0.0),
        (["a"], [], 0.0),
        ([], [], 100.0),  # nothing expected and nothing used
    ],
)
def test_tool_accuracy(used: list[str], expected_tools: list[str], value: float) -> None:
    score = score_response(with_(tools_used=used, expected_tools=expected_tools))

    assert score.criteria["tool_accuracy"] == round(value, 2)
    assert score.overall == round(80 + 0.2 * value, 2)


def test_tool_feedback_names_missing_and_redundant_tools() -> None:
    score = score_response(with_(tools_used=["x", "x", "y"], expected_tools=["x", "z"]))

    # ∩ = {x}, ∪ = {x, x, y, z}: 25 of 100, so 15 of the 20 points are lost.
    assert score.feedback == [
        "Tool accuracy lost 15 points: expected tools not used (z); redundant tool calls (x, y)."
    ]


@pytest.mark.parametrize("missing", ["tools_used", "expected_tools"])
def test_tool_accuracy_missing_field(missing: str) -> None:
    score = score_response(with_(**{missing: ...}))

    assert score.criteria["tool_accuracy"] == 0.0
    assert score.feedback == [
        f"Tool accuracy lost 20 points: {missing} is missing, counted as not done."
    ]


def test_long_lists_are_cut_short_in_feedback() -> None:
    names = [f"t{i}" for i in range(8)]
    score = score_response(with_(tools_used=[], expected_tools=names))

    assert "(t0, t1, t2, t3, t4 and 3 more)" in score.feedback[0]


# --- decomposition, response quality --------------------------------------------------------------


@pytest.mark.parametrize(
    ("planning", "breakdown", "value"),
    [
        (True, True, 100.0),
        (True, False, 50.0),
        (False, True, 50.0),
        (False, False, 0.0),
        (..., True, 50.0),
        (..., ..., 0.0),
    ],
)
def test_decomposition(planning: Any, breakdown: Any, value: float) -> None:
    data = with_(systematic_planning=planning, logical_breakdown=breakdown)

    assert score_response(data).criteria["decomposition"] == value


@pytest.mark.parametrize(
    ("quality", "value"),
    [("excellent", 100.0), ("good", 75.0), ("adequate", 50.0), ("poor", 25.0), (..., 0.0)],
)
def test_response_quality_points(quality: Any, value: float) -> None:
    score = score_response(with_(explanation_quality=quality))

    assert score.criteria["response_quality"] == value
    assert score.overall == round(85 + 0.15 * value, 2)


# --- efficiency: half tokens, half time; full marks to the budget, zero at twice it ---------------


@pytest.mark.parametrize(
    ("tokens", "value"),
    [
        (0, 100.0),
        (2000, 100.0),
        (2002, 99.95),
        (3000, 75.0),
        (3998, 50.05),
        (4000, 50.0),
        (10**400, 50.0),
        (..., 50.0),
    ],
)
def test_efficiency_tokens(tokens: Any, value: float) -> None:
    assert score_response(with_(token_count=tokens)).criteria["efficiency"] == value


@pytest.mark.parametrize(
    ("seconds", "value"),
    [(0, 100.0), (30, 100.0), (30.0001, 100.0), (45, 75.0), (60, 50.0), (600, 50.0), (..., 50.0)],
)
def test_efficiency_time(seconds: Any, value: float) -> None:
    assert score_response(with_(execution_time_seconds=seconds)).criteria["efficiency"] == value


def test_efficiency_budgets_come_from_the_rubric() -> None:
    rubric = only("efficiency", token_count=400, execution_time_seconds=4)

    score = score_response(rubric=rubric, data=GUIDE_EXAMPLE)  # 500 tokens, 5 s

    assert score.criteria == {"efficiency": 75.0}
    assert score.feedback == [
        "Efficiency lost 12.5 points: used 500 tokens, over the budget of 400.",
        "Efficiency lost 12.5 points: took 5.0 s, over the budget of 4.",
    ]


# --- bands ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0, "poor"),
        (59.99, "poor"),
        (59.999999, "poor"),
        (60, "acceptable"),
        (74.99, "acceptable"),
        (75, "good"),
        (89.99, "good"),
        (90, "exceptional"),
        (100, "exceptional"),
    ],
)
def test_band_boundaries(value: float, band: str) -> None:
    assert band_for(value) == band


@pytest.mark.parametrize("value", [-0.01, 100.01, math.nan, math.inf])
def test_band_refuses_values_outside_0_to_100(value: float) -> None:
    with usage_error("within 0-100"):
        band_for(value)


@pytest.mark.parametrize(
    ("tokens", "overall", "band"),
    [
        (180000, 60.0, "acceptable"),  # 50 (time) + 50 x 0.2
        (180008, 60.0, "poor"),  # 59.996 is shown as 60.0 but is below 60
        (170000, 65.0, "acceptable"),
        (150000, 75.0, "good"),
        (149999, 75.0, "good"),  # 75.0005
        (150002, 75.0, "acceptable"),  # 74.999
        (120000, 90.0, "exceptional"),
        (120002, 90.0, "good"),  # 89.999
    ],
)
def test_band_is_decided_on_the_unrounded_overall(tokens: int, overall: float, band: str) -> None:
    # With one criterion of weight 100, overall is the efficiency score: 50 for the time (0 s)
    # plus 50 x (2b - tokens) / b with b = 100,000.
    rubric = only("efficiency", token_count=100000)

    score = score_response(with_(token_count=tokens, execution_time_seconds=0), rubric)

    assert (score.overall, score.band) == (overall, band)


# --- every field missing, wrong types, extra fields ----------------------------------------------


def test_an_empty_description_scores_0_and_names_every_field() -> None:
    score = score_response({})

    assert (score.overall, score.band) == (0.0, "poor")
    assert set(score.criteria.values()) == {0.0}
    text = " ".join(score.feedback)
    for name in GUIDE_EXAMPLE:
        assert f"{name} " in text
    # The points lost add up to everything.
    lost = [float(s.split(" lost ")[1].split(" points")[0]) for s in score.feedback]
    assert math.isclose(sum(lost), 100)


def test_null_counts_as_missing_and_extra_fields_are_ignored() -> None:
    data = with_(validation_performed=None, notes={"anything": [1, 2]}, score=12)

    assert score_response(data) == score_response(with_(validation_performed=...))


def test_integral_float_token_count_is_accepted() -> None:
    assert validate_response(with_(token_count=500.0)).token_count == 500


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("validation_performed", "yes"),
        ("validation_performed", 1),
        ("edge_cases_considered", "true"),
        ("systematic_planning", 0),
        ("logical_breakdown", []),
        ("requirements", "req1"),
        ("requirements", ["req1", 2]),
        ("addressed_requirements", {"req1": True}),
        ("tools_used", "tool"),
        ("expected_tools", [None]),
        ("token_count", -1),
        ("token_count", "500"),
        ("token_count", True),
        ("token_count", 1.5),
        ("token_count", math.nan),
        ("token_count", math.inf),
        ("execution_time_seconds", -0.5),
        ("execution_time_seconds", "5s"),
        ("execution_time_seconds", False),
        ("execution_time_seconds", math.inf),
        ("explanation_quality", "great"),
        ("explanation_quality", "Excellent"),
        ("explanation_quality", 4),
        ("status", "done"),
        ("status", True),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(UsageError) as caught:
        score_response(with_(**{field: value}))

    message = str(caught.value)
    assert message.startswith(f"response field {field!r} must be ")
    assert "\n" not in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("data", [[], "text", None, 42, [GUIDE_EXAMPLE]])
def test_a_description_that_is_not_an_object_is_refused(data: Any) -> None:
    with usage_error("must be a JSON object"):
        score_response(data)


# --- rubrics --------------------------------------------------------------------------------------


def test_default_rubric() -> None:
    weights = {c.name: c.weight for c in DEFAULT_RUBRIC.criteria}

    assert weights == {
        "task_completion": 40,
        "tool_accuracy": 20,
        "decomposition": 20,
        "response_quality": 15,
        "efficiency": 5,
    }
    assert DEFAULT_RUBRIC.budgets == Budgets(2000, 30.0)
    assert parse_rubric({}) == DEFAULT_RUBRIC


FLAWED = with_(
    status="partial",  # task completion 90
    tools_used=["correct_tool_1"],  # tool accuracy 50
    logical_breakdown=False,  # decomposition 50
    explanation_quality="adequate",  # response quality 50
    token_count=3000,  # efficiency 75
)


def test_default_weights_combine_the_criteria() -> None:
    score = score_response(FLAWED)

    assert score.criteria == {
        "task_completion": 90.0,
        "tool_accuracy": 50.0,
        "decomposition": 50.0,
        "response_quality": 50.0,
        "efficiency": 75.0,
    }
    assert score.overall == (40 * 90 + 20 * 50 + 20 * 50 + 15 * 50 + 5 * 75) / 100  # 67.25
    assert score.band == "acceptable"


@pytest.mark.parametrize(
    "weights",
    [
        {"task_completion": 60, "tool_accuracy": 30, "response_quality": 10},
        {"task_completion": 0.6, "tool_accuracy": 0.3, "response_quality": 0.1},
    ],
)
def test_a_reweighted_rubric_drops_the_criteria_it_does_not_name(weights: dict[str, float]) -> None:
    score = score_response(FLAWED, parse_rubric({"weights": weights}))

    assert score.criteria == {
        "task_completion": 90.0,
        "tool_accuracy": 50.0,
        "response_quality": 50.0,
    }
    assert score.overall == 0.6 * 90 + 0.3 * 50 + 0.1 * 50  # 74
    assert score.band == "acceptable"
    # Dropped criteria cost nothing and are not mentioned.
    assert not any(s.startswith(("Decomposition", "Efficiency")) for s in score.feedback)
    assert "Tool accuracy lost 15 points" in score.feedback[1]


def test_fractional_weights_that_sum_to_1_give_100_for_a_perfect_response() -> None:
    weights = {
        "task_completion": 0.4,
        "tool_accuracy": 0.2,
        "decomposition": 0.2,
        "response_quality": 0.15,
        "efficiency": 0.05,
    }

    rubric = parse_rubric({"weights": weights})

    assert score_response(GUIDE_EXAMPLE, rubric) == score_response(GUIDE_EXAMPLE)
    assert score_response(FLAWED, rubric).overall == score_response(FLAWED).overall


def test_weights_written_as_thirds_are_accepted() -> None:
    rubric = parse_rubric(
        {"weights": {"task_completion": 33.33, "tool_accuracy": 33.33, "decomposition": 33.34}}
    )

    assert score_response(GUIDE_EXAMPLE, rubric).overall == 100.0


def test_a_rubric_built_in_code_checks_its_weights_too() -> None:
    half = Criterion("always_half", 1, lambda r, b: (rubric_module.Part(100, 0.5, "half"),))

    with usage_error("must add up to 100 \\(or to 1\\), got 2"):
        Rubric((Criterion("task_completion", 1, task_completion), half))


def test_a_custom_criterion_with_valid_weights() -> None:
    half = Criterion("always_half", 50, lambda r, b: (rubric_module.Part(100, 0.5, "half done"),))
    rubric = Rubric((Criterion("task_completion", 50, task_completion), half))

    score = score_response(GUIDE_EXAMPLE, rubric)

    assert (score.overall, score.criteria["always_half"]) == (75.0, 50.0)
    assert score.feedback == ["Always half lost 25 points: half done."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"weights": {"speed": 100}}, "unknown criterion 'speed' in rubric weights"),
        ({"weights": {"task_completion": 95, "speeed": 5}}, "unknown criterion 'speeed'"),
        (
            {"weights": {"task_completion": "high"}},
            "weight for 'task_completion' must be a finite number, got \"high\"",
        ),
        (
            {"weights": {"task_completion": True}},
            "weight for 'task_completion' must be a finite number, got true",
        ),
        ({"weights": {"task_completion": None}}, "must be a finite number, got null"),
        ({"weights": {"task_completion": math.nan}}, "must be a finite number"),
        (
            {"weights": {"task_completion": 100, "efficiency": 0}},
            "weight for 'efficiency' must be positive, got 0",
        ),
        (
            {"weights": {"task_completion": 110, "efficiency": -10}},
            "'efficiency' must be positive, got -10",
        ),
        ({"weights": {"task_completion": 10**400}}, "'task_completion' is too large"),
        (
            {"weights": {"task_completion": 40, "tool_accuracy": 55}},
            "must add up to 100 \\(or to 1\\), got 95",
        ),
        ({"weights": {"task_completion": 0.5, "tool_accuracy": 0.6}}, "got 1.1"),
        ({"weights": {"task_completion": 50, "tool_accuracy": 0.5}}, "got 50.5"),
        ({"weights": {}}, "rubric weights are empty"),
        ({"weights": [40, 60]}, "rubric weights must be a mapping"),
        ({"weights": None}, "rubric weights must be a mapping, got null"),
        ({"criteria": {"task_completion": 100}}, "unknown key 'criteria' in rubric"),
        ({"budgets": {"tokens": 10}}, "unknown budget 'tokens' in rubric budgets"),
        ({"budgets": {"token_count": 0}}, "budget 'token_count' must be positive"),
        (
            {"budgets": {"execution_time_seconds": "30s"}},
            "'execution_time_seconds' must be a finite number",
        ),
        ({"budgets": 5}, "rubric budgets must be a mapping"),
        ([("weights", {})], "rubric must be a mapping"),
    ],
)
def test_a_bad_rubric_is_refused_with_one_clear_line(data: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_rubric(data)

    assert "\n" not in str(caught.value)


def test_a_rubric_may_not_name_a_criterion_twice() -> None:
    twice = Criterion("task_completion", 50, task_completion)

    with usage_error("names a criterion twice"):
        Rubric((twice, twice))


# --- the weighted sum, for all inputs -------------------------------------------------------------

names = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=6)
flags = st.one_of(st.none(), st.booleans())
responses = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["completed", "partial", "failed"]),
        "requirements": names,
        "addressed_requirements": names,
        "validation_performed": flags,
        "edge_cases_considered": flags,
        "tools_used": names,
        "expected_tools": names,
        "systematic_planning": flags,
        "logical_breakdown": flags,
        "explanation_quality": st.sampled_from(["excellent", "good", "adequate", "poor"]),
        "token_count": st.integers(0, 10**6),
        "execution_time_seconds": st.floats(0, 1e4),
    },
)
weights = st.dictionaries(
    st.sampled_from(list(rubric_module.FORMULAS)), st.integers(1, 1000), min_size=1
).map(lambda w: {k: v / sum(w.values()) for k, v in w.items()})


@given(responses, weights)
def test_overall_is_the_weighted_sum_of_the_criteria(
    data: dict[str, Any], w: dict[str, float]
) -> None:
    rubric = parse_rubric({"weights": w}) if math.isclose(sum(w.values()), 1) else DEFAULT_RUBRIC
    shares = {c.name: c.weight / rubric.total_weight for c in rubric.criteria}

    score = score_response(data, rubric)

    assert 0 <= score.overall <= 100
    assert all(0 <= v <= 100 for v in score.criteria.values())
    assert set(score.criteria) == set(shares)
    # Each shown criterion and the overall are rounded to 2 places: at most 0.005 off each.
    weighted = sum(shares[name] * value for name, value in score.criteria.items())
    assert abs(score.overall - weighted) <= 0.01 + 1e-9
    assert score.band in {band_for(max(0, score.overall - 0.005)), band_for(score.overall)}
    if not score.feedback:
        assert score.overall == 100


# --- score records, averages and reports ----------------------------------------------------------


def record(agent: str, overall: float, when: datetime, response_id: str = "r") -> dict[str, Any]:
    return {
        "ts": when.isoformat().replace("+00:00", "Z"),
        "agent": agent,
        "response_id": response_id,
        "overall": overall,
        "criteria": {},
        "band": band_for(overall),
    }


def test_score_record_is_the_stored_line() -> None:
    score = score_response(FLAWED)
    at = datetime(2025, 10, 12, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))

    line = score_record(score, "cloud_architect", "exp_001_nathan@example.com_001", at)

    assert line == {
        "ts": "2025-10-12T12:30:05.123Z",
        "agent": "cloud_architect",
        "response_id": "exp_001_nathan@example.com_001",
        "overall": score.overall,
        "criteria": score.criteria,
        "band": "acceptable",
    }
    assert check_record(line) is line
    assert average([line], "cloud_architect", at, 1) == (score.overall, 1)


@pytest.mark.parametrize(
    ("agent", "response_id", "message"),
    [
        ("Cloud Architect", "r1", "invalid agent name"),
        ("head", "r1", "reserved"),
        ("cloud", "", "response id"),
        ("cloud", "a\nb", "response id"),
    ],
)
def test_score_record_refuses_bad_names(agent: str, response_id: str, message: str) -> None:
    with usage_error(message):
        score_record(score_response(GUIDE_EXAMPLE), agent, response_id, NOW)


def test_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_record(score_response(GUIDE_EXAMPLE), "a", "r", datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        average([], "a", datetime(2025, 1, 1), 7)


def test_average_counts_only_the_agent_inside_the_window() -> None:
    records = [
        record("arch", 80, NOW),  # the window's end is inside
        record("arch", 70, NOW - timedelta(days=3)),
        record("arch", 61, NOW - timedelta(days=7) + timedelta(seconds=1)),
        record("arch", 10, NOW - timedelta(days=7)),  # the window's start is outside
        record("arch", 10, NOW - timedelta(days=30)),
        record("arch", 10, NOW + timedelta(seconds=1)),  # after now
        record("other", 10, NOW - timedelta(days=1)),
    ]

    assert average(records, "arch", NOW, 7) == (round((80 + 70 + 61) / 3, 2), 3)
    assert average(records, "arch", NOW, 1) == (80.0, 1)
    assert average(records, "arch", NOW, 0.5) == (80.0, 1)
    assert average(records, "arch", NOW, 31) == (round((80 + 70 + 61 + 10 + 10) / 5, 2), 5)
    assert average(records, "nobody", NOW, 7) == (None, 0)
    with usage_error("invalid agent name"):
        average(records, "Arch", NOW, 7)
    assert average([], "arch", NOW, 7) == (None, 0)


@pytest.mark.parametrize("days", [0, -1, True, "7", math.nan, 10**6])
def test_bad_window_lengths_are_refused(days: Any) -> None:
    with usage_error("days must be a number above 0"):
        average([], "arch", NOW, days)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ts": "yesterday"}, "'ts' must be an RFC 3339 time"),
        ({"ts": "2025-10-12T10:00:00"}, "'ts' must be an RFC 3339"),  # no offset
        ({"agent": 5}, "'agent' must be text"),
        ({"agent": "Bad Agent"}, "invalid agent name"),
        ({"response_id": None}, "response id"),
        ({"overall": "high"}, "'overall' must be a number 0-100"),
        ({"overall": 101}, "'overall' must be a number 0-100"),
        ({"criteria": []}, "'criteria' must be an object"),
        ({"criteria": {"efficiency": -1}}, "'criteria.efficiency' must be a number 0-100"),
        ({"band": "great"}, "'band' is not a band"),
    ],
)
def test_a_malformed_record_is_refused_by_field(change: dict[str, Any], message: str) -> None:
    bad = {**record("arch", 70, NOW), **change}

    with usage_error(message):
        check_record(bad)
    with usage_error(message):
        report([bad], NOW, 7)


def test_report_trend_and_poor_scores() -> None:
    day = timedelta(days=1)
    records = [
        # arch: now 55, 90 and 59.99, the week before 60.01 and 70: up
        record("arch", 55, NOW - 2 * day, "late"),
        record("arch", 90, NOW - day),
        record("arch", 59.99, NOW - 6 * day, "early"),
        record("arch", 60.01, NOW - 8 * day),
        record("arch", 70, NOW - 10 * day),
        record("arch", 20, NOW - 15 * day),  # before both windows
        # bot: now 70, before 90: down 20
        record("bot", 70, NOW - day),
        record("bot", 90, NOW - 9 * day),
        # calm: same both weeks; gone: only the week before; new: only this week
        record("calm", 75, NOW - day),
        record("calm", 75, NOW - 8 * day),
        record("gone", 50, NOW - 8 * day),
        record("new", 95, NOW),
    ]

    result = report(records, NOW, 7)

    rows = {a.agent: a for a in result.agents}
    assert list(rows) == ["arch", "bot", "calm", "gone", "new"]
    arch = rows["arch"]
    now_mean, before_mean = (55 + 90 + 59.99) / 3, (60.01 + 70) / 2
    assert (arch.count, arch.mean) == (3, round(now_mean, 2))
    assert (arch.previous_count, arch.previous_mean) == (2, round(before_mean, 2))
    assert arch.change == round(now_mean - before_mean, 2)
    assert arch.trend == "up"
    assert [r["response_id"] for r in arch.poor] == ["early", "late"]  # oldest first
    assert (rows["bot"].change, rows["bot"].trend) == (-20.0, "down")
    assert (rows["calm"].change, rows["calm"].trend) == (0.0, "flat")
    assert (rows["gone"].count, rows["gone"].mean, rows["gone"].trend) == (0, None, "n/a")
    assert rows["gone"].poor == ()  # its 50 is not in this window
    assert (rows["new"].previous_mean, rows["new"].trend) == (None, "n/a")
    assert result.failing == ()


def test_report_fail_under_names_the_agents_whose_mean_is_below() -> None:
    records = [
        record("arch", 69.99, NOW),
        record("bot", 70, NOW),
        record("idle", 10, NOW - timedelta(days=8)),
    ]

    result = report(records, NOW, 7, fail_under=70)

    assert result.failing == ("arch",)
    assert [a.failing for a in result.agents] == [True, False, False]
    assert report(records, NOW, 7).failing == ()


def test_report_fail_under_must_be_a_score() -> None:
    with usage_error("--fail-under must be a number 0-100"):
        report([], NOW, 7, fail_under=120)


def test_report_reads_records_written_by_score_record() -> None:
    lines = [
        score_record(score_response(d), "arch", f"r{i}", NOW - timedelta(hours=i))
        for i, d in enumerate([GUIDE_EXAMPLE, FLAWED, {}])
    ]

    [row] = report(lines, NOW, 1).agents

    assert (row.count, row.mean) == (3, round((100 + 67.25 + 0) / 3, 2))
    assert [r["response_id"] for r in row.poor] == ["r2"]


# --- purity -----------------------------------------------------------------------------


def test_the_scorer_modules_are_pure() -> None:
    allowed = {
        "__future__",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",
        "json",
        "math",
        "typing",
        "maia_git.core.ids",
        "maia_git.core.rubric",
        "maia_git.errors",
    }
    for module in (rubric_module, scoring_module):
        tree = ast.parse(Path(str(module.__file__)).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert imported <= allowed, module.__name__
        calls = {
            n.func.attr
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        }
        assert not calls & {"now", "utcnow", "today", "time"}, module.__name__
