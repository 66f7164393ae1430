"""The progress bar every long step of an import shows on the terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, progress: bool, unit: str = "B") -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        unit_divisor=1024 if unit == "B" else 1000,
        file=sys.stderr,
        disable=not progress,
        leave=True,
        dynamic_ncols=True,
    )
