"""Training curves as inline SVG: no plotting library, no request to the internet."""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT, PAD = 560, 220, 36
SERIES = (("loss", "loss", "#c2410c"), ("val_rmse", "val RMSE", "#2563eb"), ("val_ndcg", "val nDCG@10", "#059669"))


def training_curves_svg(history: list[dict]) -> str:
    """One SVG with a line per metric over the epochs, each scaled to its own range.

    Each metric has its own units, so every line spans the plot's height; the legend
    gives each one's first and last value.
    """
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    if not epochs:
        return ""
    x_span = max(max(epochs) - min(epochs), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="training curves" class="training-curves" width="{WIDTH}" height="{HEIGHT}">',
        f'<rect x="{PAD}" y="8" width="{WIDTH - 2 * PAD}" height="{HEIGHT - PAD - 8}" fill="none" stroke="#ccc"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11">epoch</text>',
    ]
    for i, epoch in enumerate(sorted(set(epochs))):
        if len(epochs) <= 12 or i % max(1, len(epochs) // 10) == 0:
            x = PAD + (epoch - min(epochs)) / x_span * (WIDTH - 2 * PAD)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" font-size="10">{epoch}</text>'
            )
    legend_y = 20
    for key, label, colour in SERIES:
        points = [
            (e, float(row[key]))
            for e, row in zip(epochs, history, strict=True)
            if isinstance(row.get(key), int | float) and math.isfinite(row[key])
        ]
        if not points:
            continue
        values = [v for _, v in points]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        coords = " ".join(
            f"{PAD + (e - min(epochs)) / x_span * (WIDTH - 2 * PAD):.1f},"
            f"{8 + (1 - (v - low) / span) * (HEIGHT - PAD - 16) + 4:.1f}"
            for e, v in points
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        text = escape(f"{label}: {values[0]:.4f} → {values[-1]:.4f}")
        parts.append(
            f'<text x="{WIDTH - PAD - 4}" y="{legend_y}" text-anchor="end" font-size="11" fill="{colour}">{text}</text>'
        )
        legend_y += 14
    parts.append("</svg>")
    return "".join(parts)
