"""Formatting helpers for movie pages: star values and rating counts."""

from django import template

register = template.Library()


@register.filter
def stars(value: float | None) -> str:
    """4.0 -> "4", 3.5 -> "3.5", 3.4567 -> "3.5"; "" for no value."""
    if value is None or value == "":
        return ""
    rounded = round(float(value) * 10) / 10
    return f"{rounded:g}" if rounded != int(rounded) else str(int(rounded))


@register.filter
def star_label(value: float | None) -> str:
    """An accessible phrase: 1.0 -> "1 star", 4.5 -> "4.5 stars"."""
    shown = stars(value)
    if not shown:
        return ""
    return f"{shown} star" if shown == "1" else f"{shown} stars"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    """mapping[key] in a template, None when missing: {{ my_values|get_item:movie.pk }}."""
    return mapping.get(key) if mapping else None


@register.filter
def contains(collection: object, item: object) -> bool:
    """item in collection, for sets of ids: {{ dismissed|contains:movie.pk }}."""
    try:
        return item in collection  # type: ignore[operator]
    except TypeError:
        return False
