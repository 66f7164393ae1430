"""Formatting helpers for movie pages: star values and rating counts."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from movies.models import RATING_VALUES

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


@register.simple_tag
def star_radios(movie_id: int, checked: float | None, slot: str | None = None) -> SafeString:
    """The ten radio inputs and half-star labels of the rating widget, highest first.

    Highest first so that CSS can light a checked star and every half star to its
    left with `input:checked ~ label` (the row is shown reversed). Built here, not
    in a template loop, because a page of 50 widgets would otherwise spend most of
    its time resolving template variables. `slot` (letters only) prefixes the ids when the same
    movie has two widgets on one page, so each label still checks its own input.
    """
    movie_id = int(movie_id)  # an int: nothing in the markup below needs escaping per call
    prefix = f"rate-{slot}" if slot and str(slot).isalpha() else "rate"
    chosen = float(checked) if checked not in (None, "") else None  # "" when the template had no value
    return mark_safe(  # noqa: S308 (ints and the escaped labels of _STAR_ROWS only)
        "\n".join(
            f'<input type="radio" name="value" value="{value}" id="{prefix}-{movie_id}-{index}"'
            f"{' checked' if chosen == value else ''}>"
            f'<label for="{prefix}-{movie_id}-{index}" class="{kind}" title="{label}">'
            f'<span class="sr-only">{label}</span></label>'
            for value, index, kind, label in _STAR_ROWS
        )
    )


# (value, index, "full" or "half", escaped label) highest first, made once: every widget on a page
# shows the same ten labels, so escaping them per widget would be wasted work.
_STAR_ROWS = [
    (
        RATING_VALUES[index - 1],
        index,
        "full" if index % 2 == 0 else "half",
        escape(star_label(RATING_VALUES[index - 1])),
    )
    for index in range(len(RATING_VALUES), 0, -1)
]
