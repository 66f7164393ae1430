"""Log lines as the settings' console handler writes them, collected in memory."""

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils.module_loading import import_string

from config import log_context


def handler_like_settings(stream: io.StringIO) -> logging.Handler:
    """A handler with the formatter and filters that settings.LOGGING gives the console handler."""
    config = settings.LOGGING
    console = config["handlers"]["console"]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(config["formatters"][console["formatter"]]["format"]))
    for name in console["filters"]:
        handler.addFilter(import_string(config["filters"][name]["()"])())
    return handler


@contextmanager
def captured_lines() -> Iterator[list[str]]:
    """Yields a list that holds, after the block, every line the root logger wrote during it.

    Starts outside any request or task: the test client never closes a streamed response it
    was not asked to read (a WSGI server always does), so its request id can still be set.
    """
    log_context.request_id.set(None)
    log_context.task_id.set(None)
    stream = io.StringIO()
    handler = handler_like_settings(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lines: list[str] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines.extend(stream.getvalue().splitlines())
