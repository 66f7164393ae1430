"""A reader thread that parses the next rating blocks while the database takes this one."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from movies.importers import RatingChunk


def prefetch(items: Iterator[RatingChunk], depth: int = 2) -> Iterator[RatingChunk]:
    """Read and parse the next blocks in a thread while the database takes this one.

    pandas, numpy and the database driver release the GIL for most of their work, so on
    two cores parsing and COPY overlap. Errors from the reader (bad rows) re-raise here.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            put((done, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((done, exc))
        finally:
            items.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, name="movielens-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, tuple) and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join()
