"""The Bayesian read-out: chance to beat control and expected loss, as GrowthBook computes them.

GrowthBook's gbstats (0.8.0, ``bayesian/tests.py``, ``EffectBayesianABTest``) puts a Gaussian
prior on the relative effect d = (m_t - m_c) / m_c and a normal likelihood from the data:

    d_hat = (m_t - m_c) / m_c,    Var(d_hat) = Var(m_t) / m_c^2 + Var(m_c) m_t^2 / m_c^4

(the delta method on the arms' ratio means; gbstats ``frequentist_diff`` and
``frequentist_variance``). Its default prior (``EffectBayesianConfig()``: ``GaussianPrior(mean=0,
variance=1, proper=False)``) is improper, a flat prior on d: the posterior is N(d_hat,
Var(d_hat)). Then

    chance to beat control  P(d > 0) = Phi(d_hat / sd)
    expected loss           E[max(-d, 0)] = sd phi(d_hat / sd) - d_hat Phi(-d_hat / sd)
                            (gbstats ``get_risk``'s risk of choosing the treatment, in closed
                            form instead of scipy's truncated normal mean)
    credible interval       d_hat -+ z_{1-alpha/2} sd.

A proper prior N(mu0, v0) gives the usual normal-normal posterior; only the default is used by
the promotion rule, the general form is here so the tests can check it against gbstats too.
The loss is relative to control's rate: 0.0025 means a quarter of a percent of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from maia_git.stats.ratio import RatioSums

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Posterior:
    """The posterior of the relative effect d of the treatment on the metric."""

    mean: float
    sd: float
    chance_to_win: float
    expected_loss: float  # of choosing the treatment: E[max(-d, 0)]
    control_loss: float  # of keeping control: E[max(d, 0)]
    low: float
    high: float


def relative_effect(control: RatioSums, treatment: RatioSums) -> tuple[float, float] | None:
    """(d_hat, Var(d_hat)), or None when the variance cannot be formed or control's mean is 0."""
    v_c, v_t = control.variance, treatment.variance
    if v_c is None or v_t is None or control.num == 0.0:
        return None
    m_c, m_t = control.num / control.den, treatment.num / treatment.den
    return (m_t - m_c) / m_c, v_t / (m_c * m_c) + v_c * m_t * m_t / m_c**4


def posterior(
    d_hat: float,
    variance: float,
    alpha: float,
    prior: tuple[float, float] | None = None,
) -> Posterior:
    """The posterior of d; ``prior`` (mean, variance) of a proper Gaussian prior, None: flat
    (gbstats' default). ``variance`` must be positive."""
    precision = 1.0 / variance
    mean = d_hat
    if prior is not None:
        precision += 1.0 / prior[1]
        mean = (d_hat / variance + prior[0] / prior[1]) / precision
    sd = math.sqrt(1.0 / precision)
    z = mean / sd
    below, above = _NORMAL.cdf(-z), _NORMAL.cdf(z)
    density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    half = _NORMAL.inv_cdf(1.0 - alpha / 2.0) * sd
    return Posterior(
        mean=mean,
        sd=sd,
        chance_to_win=above,
        expected_loss=max(sd * density - mean * below, 0.0),
        control_loss=max(sd * density + mean * above, 0.0),
        low=mean - half,
        high=mean + half,
    )
