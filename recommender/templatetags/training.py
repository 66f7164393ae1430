"""The template tag that draws a model version's training curves as inline SVG in admin."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from recommender.plots import training_curves_svg

register = template.Library()


@register.simple_tag
def training_curves(history: list[dict]) -> SafeString:
    """The version's training curves as inline SVG (numbers only go in, escaped text comes out)."""
    return mark_safe(training_curves_svg(history or []))  # noqa: S308 - built from numbers and escaped labels
