"""Bounds on an API request body: its size and how deeply its JSON nests, checked before parsing.

Python's json module recurses once per nesting level, so a body of a thousand "[" raises
RecursionError; and Django refuses a body above DATA_UPLOAD_MAX_MEMORY_SIZE with an HTML 400.
Every body the API takes is a small flat object, so both bounds are far above any real one.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 16

_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


def body_size_problem(request: HttpRequest) -> tuple[int, str] | None:
    """A 413 when the declared or actual body is above MAX_BODY_BYTES, read no further than that."""
    too_large = 413, f"The body is too large: at most {MAX_BODY_BYTES:,} bytes."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, "The Content-Length header is not a number."
    if declared > MAX_BODY_BYTES:
        return too_large
    try:
        body = request.body
    except RequestDataTooBig:
        return too_large
    return too_large if len(body) > MAX_BODY_BYTES else None


def nesting_problem(body: bytes) -> tuple[int, str] | None:
    """A 400 when the JSON text nests arrays or objects more than MAX_DEPTH deep."""
    # Most bodies have fewer brackets than the bound in all: no need to walk them.
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return None
    if _depth(body) > MAX_DEPTH:
        return 400, f"The body nests arrays or objects more than {MAX_DEPTH} levels deep."
    return None


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth -= 1
    return deepest
