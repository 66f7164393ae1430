"""Readers for every MovieLens layout GroupLens has published; pure Python, no Django.

with open_source(path) as source:
    layout = detect_layout(source)
    movies = read_movies(source, layout)
    for chunk in iter_ratings(source, layout, movie_ids): ...
"""

from movies.importers.archive import Source, check_zip_members, open_source
from movies.importers.errors import BadRow, BadRowError, LayoutError, MovieLensError, UnsafeArchiveError
from movies.importers.layouts import Layout, detect_layout
from movies.importers.readers import (
    LinkRow,
    MovieRow,
    RatingChunk,
    TagChunk,
    find_duplicate_pairs,
    iter_ratings,
    iter_tags,
    known_mask,
    pair_keys,
    parse_title,
    raise_bad,
    read_links,
    read_movies,
    scan_user_ids,
)

__all__ = [
    "BadRow",
    "BadRowError",
    "Layout",
    "LayoutError",
    "LinkRow",
    "MovieLensError",
    "MovieRow",
    "RatingChunk",
    "Source",
    "TagChunk",
    "UnsafeArchiveError",
    "check_zip_members",
    "detect_layout",
    "find_duplicate_pairs",
    "iter_ratings",
    "iter_tags",
    "known_mask",
    "open_source",
    "pair_keys",
    "parse_title",
    "raise_bad",
    "read_links",
    "read_movies",
    "scan_user_ids",
]
