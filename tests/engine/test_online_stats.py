"""The statistics behind admin's online figures, against scipy and hand-worked values."""

import math

import numpy as np
import pytest
from scipy import stats

from recommender.engine import online_stats


def test_wilson_interval_matches_the_hand_worked_value():
    interval = online_stats.proportion_interval(10, 100)
    assert interval.value == pytest.approx(0.10)
    # Wilson, z = 1.96: centre 0.1135, half-width 0.0584.
    assert interval.low == pytest.approx(0.0552, abs=1e-4)
    assert interval.high == pytest.approx(0.1744, abs=1e-4)


def test_an_interval_of_nothing_shown_is_empty():
    assert online_stats.proportion_interval(0, 0).value is None
    assert online_stats.mean_interval(0.0, 0.0, 0).value is None


def test_the_mean_interval_uses_student_t():
    values = np.array([3.0, 4.0, 5.0, 4.5, 2.5, 4.0])
    interval = online_stats.mean_interval(values.sum(), (values**2).sum(), len(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert interval.value == pytest.approx(values.mean())
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-6)


@pytest.mark.parametrize("t,df", [(0.5, 3), (2.0, 10), (1.7, 57.3), (4.2, 200), (-1.1, 8)])
def test_t_tail_matches_scipy(t, df):
    assert online_stats.t_sf(t, df) == pytest.approx(stats.t.sf(t, df), abs=1e-10)


def test_two_proportions_matches_the_pooled_z_test():
    result = online_stats.two_proportions((120, 1000), (150, 1000))
    pooled = 270 / 2000
    z = 0.03 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert result.difference == pytest.approx(0.03)
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert result.low < 0.03 < result.high


def test_welch_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3.6, 1.0, 40), rng.normal(4.0, 0.7, 55)
    result = online_stats.welch((a.sum(), (a**2).sum(), len(a)), (b.sum(), (b**2).sum(), len(b)))
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7)
    assert result.difference == pytest.approx(b.mean() - a.mean())


def test_sample_size_is_the_textbook_figure():
    # 10% -> 12%, alpha 0.05 two-sided, power 0.8: 3,841 per arm (the usual formula, rounded up).
    assert online_stats.sample_size_per_arm(0.10, 0.02) == 3841
    assert online_stats.sample_size_per_arm(0.0, 0.02) is None
