"""How admin writes online figures: rates and means with intervals, differences, p-values."""

from recommender.engine.online_stats import Comparison, Interval
from recommender.templatetags import online


def test_a_rate_shows_its_interval_in_percent():
    assert online.rate_ci(Interval(0.123, 0.101, 0.146)) == "12.3% (10.1%\u201314.6%)"
    assert online.rate_ci(Interval(None, None, None)) == "\u2013"


def test_a_mean_without_an_interval_shows_alone():
    assert online.mean_ci(Interval(3.84, 3.71, 3.97)) == "3.84 (3.71\u20133.97)"
    assert online.mean_ci(Interval(4.0, None, None)) == "4.00"


def test_differences_have_signs_and_units():
    assert online.rate_difference(Comparison(0.012, -0.003, 0.027, 0.1, 1.6)) == "+1.2 pts (-0.3 to +2.7)"
    assert online.mean_difference(Comparison(0.12, -0.05, 0.29, 0.2, 1.2)) == "+0.12 (-0.05 to +0.29)"
    assert online.rate_difference(Comparison(None, None, None, None, None)) == "\u2013"


def test_p_values_below_a_thousandth_are_not_written_out():
    assert online.p_value(Comparison(0.1, 0, 0.2, 0.0004, 3.5)) == "p < 0.001"
    assert online.p_value(Comparison(0.1, 0, 0.2, 0.0342, 2.1)) == "p = 0.034"
    assert online.share(0.525) == "52.5%"
    assert online.share("") == "\u2013"
