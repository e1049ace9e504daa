"""The pure-Python t distribution against scipy and against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from maia_git.stats.tdist import regularized_beta, t_cdf

T_GRID = np.concatenate([np.linspace(-40, 40, 161), [-300.0, -1e-3, 0.0, 1e-3, 300.0]])


@pytest.mark.parametrize("df", [1.5, 2.0, 3.0, 5.5, 19.9, 20.0, 29.7, 100.0, 1e3, 12345.6, 1e5])
def test_matches_scipy_stdtr(df: float) -> None:
    for t in T_GRID.tolist():
        ref = float(special.stdtr(df, t))
        ours = t_cdf(t, df)
        assert ours == pytest.approx(ref, abs=1e-12)
        if ref < 0.5:  # the lower tail keeps its relative precision too
            assert ours == pytest.approx(ref, rel=1e-9)


def test_cauchy_and_two_degrees_of_freedom_closed_forms() -> None:
    # df = 1 is the Cauchy law; scipy itself is off by 1.6e-9 near t = 1e-8 there.
    for t in [*T_GRID.tolist(), -1e-8, 1e-8]:
        assert t_cdf(t, 1.0) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-14)
        assert t_cdf(t, 2.0) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-14)


def test_large_degrees_of_freedom_approach_the_normal() -> None:
    for t in (-4.0, -1.0, 0.5, 2.5):
        normal = 0.5 * math.erfc(-t / math.sqrt(2))
        assert t_cdf(t, 1e8) == pytest.approx(normal, abs=1e-7)


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (2.0, 3.0), (10.0, 0.5), (0.5, 40.0), (300, 7)])
def test_regularized_beta_matches_scipy_betainc(a: float, b: float) -> None:
    for x in np.linspace(0.0, 1.0, 41).tolist():
        ref = float(special.betainc(a, b, x))
        assert regularized_beta(a, b, x, 1.0 - x) == pytest.approx(ref, abs=1e-12)


def test_extreme_statistics_saturate() -> None:
    assert t_cdf(-1e200, 3.0) == 0.0 and t_cdf(1e200, 3.0) == 1.0
    assert t_cdf(float("-inf"), 3.0) == 0.0
