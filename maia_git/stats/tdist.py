"""Student's t distribution function in pure Python.

Analysis after a push must finish in a fraction of a second, and importing scipy.special alone
costs about 0.3 s, so the t CDF is computed here from the regularised incomplete beta function:
    P(T <= -|t|) = I_x(df/2, 1/2) / 2,  x = df / (df + t^2)        (DLMF 8.17.1, 8.17.22)
with the continued fraction evaluated by the modified Lentz method (Press et al., "Numerical
Recipes", 3rd ed. 2007, section 6.4, ``betacf``). Tests compare it with scipy.
"""

from __future__ import annotations

import math

_TINY = 1e-300
_EPS = 1e-16
_MAX_TERMS = 100_000


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` > 0 degrees of freedom."""
    t2 = t * t
    if math.isinf(t2):
        return 0.0 if t < 0 else 1.0
    # x and 1 - x are formed separately so that neither loses digits near 0 or 1.
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
    return tail if t < 0 else 1.0 - tail


def regularized_beta(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b), given x and y = 1 - x."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    log_front = a * log_x + b * log_y + _log_gamma_ratio(a, b) - math.lgamma(b)
    # The fraction converges fast only below this point; above it use I_x(a,b) = 1 - I_y(b,a).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _fraction(b, a, y) / b


def _log_gamma_ratio(a: float, b: float) -> float:
    """ln(Gamma(a + b) / Gamma(a)).

    For large a the difference of two lgamma values of size a ln a loses up to 9 digits (df of a
    million), so it is taken from Stirling's series, where the large terms cancel analytically.
    """
    if a < 20.0:
        return math.lgamma(a + b) - math.lgamma(a)
    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + _stirling(a + b) - _stirling(a)


def _stirling(x: float) -> float:
    """lgamma(x) - ((x - 0.5) ln x - x + ln(2 pi) / 2): the tail of Stirling's series (x >= 20)."""
    r = 1.0 / (x * x)
    return (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / x


def _fraction(a: float, b: float, x: float) -> float:
    """The continued fraction for I_x(a, b) (Numerical Recipes eq. 6.4.5), by Lentz's method."""
    c, d = 1.0, _nonzero(1.0 - (a + b) * x / (a + 1.0))
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_TERMS):
        even = m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m))
        d, c = 1.0 / _nonzero(1.0 + even * d), _nonzero(1.0 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))
        d, c = 1.0 / _nonzero(1.0 + odd * d), _nonzero(1.0 + odd / c)
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def _nonzero(value: float) -> float:
    return value if abs(value) >= _TINY else _TINY
