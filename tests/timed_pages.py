"""Timed visits for the outage tests: pages requested in turn, each with its status code and seconds."""

import time
from collections.abc import Callable, Sequence
from typing import Any

# A page to request: (test client, the visit's number) -> response.
Page = Callable[[Any, int], Any]


def visits_timed(client: Any, pages: Sequence[Page], n: int) -> list[tuple[int, float]]:
    """Request n pages, visit i being pages[i % len(pages)]: each visit's status code and seconds."""
    results = []
    for i in range(n):
        started = time.monotonic()
        response = pages[i % len(pages)](client, i)
        results.append((response.status_code, time.monotonic() - started))
    return results
