"""Formatting of online figures in admin: rates and means with their intervals, differences, p-values."""

from __future__ import annotations

from django import template

from recommender.engine.online_stats import Comparison, Interval

register = template.Library()

DASH = "\u2013"  # an en dash


@register.filter
def rate_ci(interval: Interval) -> str:
    """A proportion with its interval: 12.3% (10.1-14.6)."""
    if interval.value is None:
        return DASH
    if interval.low is None or interval.high is None:
        return f"{interval.value:.1%}"
    return f"{interval.value:.1%} ({interval.low:.1%}{DASH}{interval.high:.1%})"


@register.filter
def mean_ci(interval: Interval) -> str:
    """A mean with its interval: 3.84 (3.71-3.97)."""
    if interval.value is None:
        return DASH
    if interval.low is None or interval.high is None:
        return f"{interval.value:.2f}"
    return f"{interval.value:.2f} ({interval.low:.2f}{DASH}{interval.high:.2f})"


@register.filter
def rate_difference(comparison: Comparison) -> str:
    """A difference of proportions in percentage points with its interval: +1.2 pts (-0.3 to +2.7)."""
    if comparison.difference is None or comparison.low is None or comparison.high is None:
        return DASH
    return f"{comparison.difference * 100:+.1f} pts ({comparison.low * 100:+.1f} to {comparison.high * 100:+.1f})"


@register.filter
def mean_difference(comparison: Comparison) -> str:
    """A difference of means with its interval: +0.12 (-0.05 to +0.29)."""
    if comparison.difference is None or comparison.low is None or comparison.high is None:
        return DASH
    return f"{comparison.difference:+.2f} ({comparison.low:+.2f} to {comparison.high:+.2f})"


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
