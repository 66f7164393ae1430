"""Training curves as inline SVG: no plotting library, no request to the internet."""

from __future__ import annotations

import math
from html import escape

WIDTH, PANEL, LEFT, RIGHT, TOP, BOTTOM = 560, 130, 52, 12, 30, 22
# (history key, title with its unit, colour, ranking-pass rows only)
PANELS = (
    ("val_rmse", "Validation RMSE, stars (lower is better)", "#2563eb", False),
    ("val_ndcg", "Validation nDCG@10, 0 to 1 (higher is better)", "#059669", True),
    ("loss", "Training loss: ranking pass softmax (no unit), rating heads stars²", "#c2410c", False),
)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high - low < 1e-12:
        low, high = low - 0.5 * (abs(low) or 1) * 0.1, high + 0.5 * (abs(high) or 1) * 0.1
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < high - step * 1e-6:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _digits(ticks: list[float]) -> int:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    return max(0, min(4, -math.floor(math.log10(step)) if step < 1 else 0))


def _pass_of(row: dict) -> tuple[str, object]:
    return (str(row.get("phase", "")), row.get("head"))


def training_curves_svg(history: list[dict]) -> str:
    """One SVG with a panel per metric over the epochs, each with its own y-axis and unit.

    Lines break where a pass ends (the ranking pass, then each rating head), since each pass has
    its own loss; dashed lines mark the passes. nDCG@10 is drawn for the ranking pass only: the
    rating heads keep the ranking pass's best.
    """
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    if not epochs:
        return ""
    first, last = min(epochs), max(epochs)
    x_span = max(last - first, 1)
    joint = any(row.get("phase") == "ranking" for row in history)

    def x_at(epoch: int) -> float:
        return LEFT + (epoch - first) / x_span * (WIDTH - LEFT - RIGHT)

    starts = [
        (epochs[i], _pass_of(row))
        for i, row in enumerate(history)
        if joint and i and _pass_of(row) != _pass_of(history[i - 1])
    ]
    height = len(PANELS) * (PANEL + TOP) + BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="training curves: validation RMSE, validation nDCG@10 and training loss by epoch" '
        f'class="training-curves" width="{WIDTH}" height="{height}">'
    ]
    for index, (key, title, colour, ranking_only) in enumerate(PANELS):
        top = index * (PANEL + TOP) + TOP
        bottom = top + PANEL - 8
        rows = [
            (e, row)
            for e, row in zip(epochs, history, strict=True)
            if not (ranking_only and joint and row.get("phase") != "ranking")
        ]
        points = [(e, _pass_of(r), float(r[key])) for e, r in rows if _finite(r.get(key))]
        parts.append(f'<text x="{LEFT}" y="{top - 6}" font-size="11" fill="{colour}">{escape(title)}</text>')
        parts.append(
            f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{bottom - top}" '
            'fill="none" stroke="#ccc"/>'
        )
        if not points:
            continue
        ticks = nice_ticks(min(p[2] for p in points), max(p[2] for p in points))
        low, high = ticks[0], ticks[-1]
        span = (high - low) or 1.0
        digits = _digits(ticks)

        def y_at(value: float, top: float = top, bottom: float = bottom, low: float = low, span: float = span) -> float:
            return bottom - (value - low) / span * (bottom - top)

        for tick in ticks:
            y = y_at(tick)
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            parts.append(
                f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="10">{tick:.{digits}f}</text>'
            )
        labelled = -math.inf
        for epoch, name in starts:
            x = x_at(epoch) - 0.5 * (WIDTH - LEFT - RIGHT) / x_span
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="#999" stroke-dasharray="3 3"/>'
            )
            if index == 0 and x - labelled >= 36:  # narrow passes would print over each other
                labelled = x
                label = f"head {name[1]}" if name[1] else name[0]
                parts.append(f'<text x="{x + 3:.1f}" y="{top + 11}" font-size="9" fill="#666">{escape(label)}</text>')
        segments: list[list[tuple[int, float]]] = []
        for i, (epoch, name, value) in enumerate(points):
            if i == 0 or name != points[i - 1][1]:
                segments.append([])
            segments[-1].append((epoch, value))
        for segment in segments:
            coords = " ".join(f"{x_at(e):.1f},{y_at(v):.1f}" for e, v in segment)
            if len(segment) == 1:
                parts.append(f'<circle cx="{coords.split(",")[0]}" cy="{coords.split(",")[1]}" r="2" fill="{colour}"/>')
            else:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
    axis_y = len(PANELS) * (PANEL + TOP) + 4
    shown = sorted(set(epochs))
    every = max(1, math.ceil(len(shown) / 12))
    for i, epoch in enumerate(shown):
        near_last = (last - epoch) * (WIDTH - LEFT - RIGHT) / x_span < 24
        if (i % every == 0 and not near_last) or epoch == last:
            parts.append(f'<text x="{x_at(epoch):.1f}" y="{axis_y}" text-anchor="middle" font-size="10">{epoch}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{axis_y + 14}" text-anchor="middle" font-size="11">epoch</text>')
    parts.append("</svg>")
    return "".join(parts)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
