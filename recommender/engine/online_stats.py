"""Confidence intervals, tests and sample sizes for online metrics and A/B experiments (pure Python).

Hit and dismiss rates are proportions of shown picks: Wilson intervals for one arm, a
two-proportion z-test (pooled under the null) and a Wald interval for the difference. Mean stars
are means of ratings: Student t intervals and Welch's t-test, with the t distribution computed
here (regularised incomplete beta) so web processes need no scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Comparison:
    """challenger minus control, its interval, and the two-sided p-value of "no difference"."""

    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    statistic: float | None


NONE = Interval(None, None, None)
NO_COMPARISON = Comparison(None, None, None, None, None)


def proportion_interval(successes: int, trials: int, *, confidence: float = 0.95) -> Interval:
    """Wilson score interval of successes / trials (good near 0 and with few trials)."""
    if trials <= 0:
        return NONE
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(total: float, squares: float, n: int, *, confidence: float = 0.95) -> Interval:
    """Mean of n values from their sum and sum of squares, with a Student t interval."""
    if n <= 0:
        return NONE
    mean = total / n
    if n < 2:
        return Interval(mean, None, None)
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half)


def two_proportions(control: tuple[int, int], challenger: tuple[int, int], *, confidence: float = 0.95) -> Comparison:
    """Two-proportion z-test of (successes, trials) pairs: challenger's rate minus control's."""
    (k0, n0), (k1, n1) = control, challenger
    if n0 <= 0 or n1 <= 0:
        return NO_COMPARISON
    p0, p1 = k0 / n0, k1 / n1
    pooled = (k0 + k1) / (n0 + n1)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    z_crit = _NORMAL.inv_cdf(0.5 + confidence / 2)
    difference = p1 - p0
    if se_null == 0:
        return Comparison(difference, difference, difference, 1.0 if difference == 0 else 0.0, None)
    z = difference / se_null
    return Comparison(difference, difference - z_crit * se, difference + z_crit * se, 2 * _NORMAL.cdf(-abs(z)), z)


def welch(
    control: tuple[float, float, int], challenger: tuple[float, float, int], *, confidence: float = 0.95
) -> Comparison:
    """Welch's t-test of two means given as (sum, sum of squares, n): challenger's minus control's."""
    (s0, q0, n0), (s1, q1, n1) = control, challenger
    if n0 < 2 or n1 < 2:
        return NO_COMPARISON
    m0, m1 = s0 / n0, s1 / n1
    v0 = max(0.0, (q0 - n0 * m0 * m0) / (n0 - 1)) / n0
    v1 = max(0.0, (q1 - n1 * m1 * m1) / (n1 - 1)) / n1
    difference = m1 - m0
    se = math.sqrt(v0 + v1)
    if se == 0:
        return Comparison(difference, difference, difference, 1.0 if difference == 0 else 0.0, None)
    df = (v0 + v1) ** 2 / ((v0 * v0) / (n0 - 1) + (v1 * v1) / (n1 - 1))
    t = difference / se
    half = t_quantile(0.5 + confidence / 2, df) * se
    return Comparison(difference, difference - half, difference + half, 2 * t_sf(abs(t), df), t)


def sample_size_per_arm(base_rate: float, effect: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Shown picks each arm needs for a two-sided two-proportion test to detect base_rate -> base_rate + effect."""
    target = base_rate + effect
    if effect == 0 or not (0 < base_rate < 1) or not (0 < target < 1):
        return None
    z_a, z_b = _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)
    mean = (base_rate + target) / 2
    root = z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(base_rate * (1 - base_rate) + target * (1 - target))
    return math.ceil(root * root / (effect * effect))


# --- Student's t distribution -------------------------------------------------------------------


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with df degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * regularized_beta(x, df / 2, 0.5)
    return tail if t >= 0 else 1 - tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (bisection on t_sf; p above 0.5)."""
    low, high = 0.0, 1.0
    while t_sf(high, df) > 1 - p:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if t_sf(middle, df) > 1 - p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by its continued fraction (Lentz's method)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1) / (a + b + 2):
        return 1.0 - regularized_beta(1 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-14:
            break
    return math.exp(log_front) * fraction / a
