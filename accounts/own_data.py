"""A person's own data: what they have here, their ratings as MovieLens' ratings.csv, and deleting their account.

The export is the layout of MovieLens' ratings.csv (userId,movieId,rating,timestamp; stars with
one decimal, seconds since 1970), sorted by movie, so it reads back with the same importers. It
is streamed from a server-side cursor in chunks, so a person with thousands of ratings costs
no more memory than one with ten.

Deleting an account removes, in one transaction, the person's ratings (taking each off its
movie's count and sum, as removing one rating does), "not interested" marks, "haven't seen it"
skips, the groups chosen at onboarding, watchlist, tags, API tokens and the impressions recorded
for them, then the user row;
after the commit, their picks lists in Redis and their entries in the cache.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction

from accounts.models import ApiToken
from movies.models import Dismissal, GroupChoice, Rating, Skip, Tag, WatchlistEntry
from movies.totals import movie_totals_add_each
from recommender import cache_keys
from recommender.models import Impression
from recommender.services.user_generation import user_generation_key
from recommender.store import get_store

log = logging.getLogger(__name__)

RATINGS_CSV_HEADER = ("userId", "movieId", "rating", "timestamp")
# Rows fetched from the database at a time, and written to the response per chunk.
EXPORT_CHUNK = 2_000


@dataclass(frozen=True)
class AccountCounts:
    ratings: int
    dismissals: int
    skips: int
    groups: int  # chosen at onboarding, liked or not
    watchlist: int
    tags: int
    api_tokens: int


def account_counts(*, user: User) -> AccountCounts:
    """How many of each thing the person has here (what the account page shows, what deleting removes)."""
    return AccountCounts(
        ratings=Rating.objects.filter(user=user).count(),
        dismissals=Dismissal.objects.filter(user=user).count(),
        skips=Skip.objects.filter(user=user).count(),
        groups=GroupChoice.objects.filter(user=user).values("group").distinct().count(),
        watchlist=WatchlistEntry.objects.filter(user=user).count(),
        tags=Tag.objects.filter(user=user).count(),
        api_tokens=ApiToken.objects.filter(user=user, revoked_at__isnull=True).count(),
    )


def ratings_csv(*, user: User) -> Iterator[str]:
    """The person's ratings as the text of a MovieLens ratings.csv, a header then chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RATINGS_CSV_HEADER)
    rows = (
        Rating.objects.filter(user=user)
        .order_by("movie_id")
        .values_list("movie_id", "value", "rated_at")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for written, (movie_id, value, rated_at) in enumerate(rows, start=1):
        writer.writerow((user.pk, movie_id, f"{value:.1f}", int(rated_at.timestamp())))
        if written % EXPORT_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def account_delete(*, user: User) -> AccountCounts:
    """Delete the account and everything of the person's (see the module doc); returns what there was.

    1. Lock the person's ratings, so a rating written meanwhile waits for this transaction (and
       then fails: its user is gone) rather than slipping past the totals.
    2. Take them off the movies' totals: each movie loses exactly one rating, so the movies
       rated with the same stars get the same change, one UPDATE per star value (ten at most).
    3. Delete the ratings and the rest; deleting the user cascades to the rows left, and its
       signals forget the user's cached session user and API token lookups.
    4. After the commit: the person's lists in Redis and their personal cache entries.
    """
    user_id = user.pk
    counts = account_counts(user=user)
    with transaction.atomic():
        by_stars: dict[float, list[int]] = defaultdict(list)
        for movie_id, value in Rating.objects.select_for_update().filter(user=user).values_list("movie_id", "value"):
            by_stars[value].append(movie_id)
        Rating.objects.filter(user=user).delete()
        for stars, movie_ids in sorted(by_stars.items()):
            # Sorted ids: two deletions updating the same movies take their row locks in one order.
            movie_totals_add_each(movie_ids=sorted(movie_ids), count=-1, total=-stars)
        for model in (Dismissal, Skip, GroupChoice, WatchlistEntry, Tag):
            model.objects.filter(user=user).delete()  # type: ignore[attr-defined]
        Impression.objects.filter(user_id=user_id).delete()
        user.delete()  # API tokens go one by one, each forgotten by accounts.signals
    _forget_cached(user_id)
    log.info("account %s deleted with %s ratings", user_id, counts.ratings)
    return counts


def _forget_cached(user_id: int) -> None:
    store = get_store()
    if store is not None and store.forget_user(user_id) is None:
        # The lists hold only movie ids under a number no account has any more; the next
        # retrain, which lists the users who have ratings, leaves it out.
        log.warning("Redis away: the lists of deleted account %s stay until the next retrain", user_id)
    cache.delete_many(
        [
            user_generation_key(user_id),
            cache_keys.personal_section("home", user_id),
            cache_keys.user_side(user_id),
            cache_keys.auth_user(user_id),
        ]
    )
    delete_pattern = getattr(cache, "delete_pattern", None)  # django-redis; elsewhere the entries just expire
    if delete_pattern is not None:
        delete_pattern(cache_keys.api_picks_of_user(user_id))
