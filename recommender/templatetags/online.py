"""Formatting of online figures in admin: rates and means with their intervals, differences, p-values."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django import template

from recommender.engine.online_stats import Comparison, Interval

register = template.Library()

DASH = "\u2013"  # an en dash


def _with_interval(interval: Interval, show: Callable[[float], str]) -> str:
    if interval.value is None:
        return DASH
    if interval.low is None or interval.high is None:
        return show(interval.value)
    return f"{show(interval.value)} ({show(interval.low)}{DASH}{show(interval.high)})"


def _difference(comparison: Comparison, show: Callable[[float], str], unit: str = "") -> str:
    if comparison.difference is None or comparison.low is None or comparison.high is None:
        return DASH
    return f"{show(comparison.difference)}{unit} ({show(comparison.low)} to {show(comparison.high)})"


# A rate is a proportion, a mean a mean of stars; each with its interval, and a difference of two with its own:
# 12.3% (10.1%-14.6%), 3.84 (3.71-3.97), +1.2 pts (-0.3 to +2.7) in percentage points, +0.12 (-0.05 to +0.29).
rate_ci = register.filter("rate_ci", partial(_with_interval, show=lambda v: f"{v:.1%}"))
mean_ci = register.filter("mean_ci", partial(_with_interval, show=lambda v: f"{v:.2f}"))
rate_difference = register.filter(
    "rate_difference", partial(_difference, show=lambda v: f"{v * 100:+.1f}", unit=" pts")
)
mean_difference = register.filter("mean_difference", partial(_difference, show=lambda v: f"{v:+.2f}"))


@register.filter
def p_value(comparison: Comparison) -> str:
    """p = 0.034, or p < 0.001."""
    if comparison.p_value is None:
        return DASH
    return "p < 0.001" if comparison.p_value < 0.001 else f"p = {comparison.p_value:.3f}"


@register.filter
def share(value: float | None) -> str:
    """A share as a percentage: 12.5%."""
    return f"{value:.1%}" if isinstance(value, int | float) else DASH
