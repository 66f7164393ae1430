"""A number that changes whenever what the site shows of any movie can change.

A change of a movie's rating totals, a save or delete of a Movie and an import bump it
(movies/row_cache.py, movies/importing/service.py), at once and again when their transaction
commits. The sections the site keeps rendered (recommender/services/sections.py) remember the
number they were rendered at: when one goes stale and the number has not moved, rendering it
again would give the same bytes, so the worker asked to refresh it keeps it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from recommender import cache_keys
from recommender.services.user_generation import generation_bump, generation_read


def catalogue_generation_key() -> str:
    return cache_keys.catalogue_generation()


def catalogue_generation() -> int:
    """The current number (created on first use)."""
    return generation_read(catalogue_generation_key())


def catalogue_generation_in(found: Mapping[str, Any]) -> int:
    """The number as a cache.get_many that asked for catalogue_generation_key() found it (created when
    it was not there)."""
    number = found.get(catalogue_generation_key())
    return int(number) if number is not None else catalogue_generation()


def catalogue_changed() -> None:
    """Call for any change of what is shown of a movie. It bumps the number now and again once the
    current transaction commits: a section rendered in between read the rows from before the commit."""
    generation_bump(catalogue_generation_key())
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: generation_bump(catalogue_generation_key()))
