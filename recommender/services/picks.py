"""What the site shows: a user's picks with stars and reasons, and similar movies.

Numpy only. A user's list comes from Redis when it holds the active version's
list, and is otherwise computed from the factors in memory (about a
millisecond) and written back. Users who rated after the version was trained
are folded in against the fixed movie factors, so their picks follow every
rating without a retrain; so are new users who chose groups of movies at
onboarding (group_evidence), with those groups read beside their ratings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings

from movies.models import Movie
from recommender.engine.discounting import discounted
from recommender.engine.factors import Factors, UserVector
from recommender.engine.foldin import LIKED, fold_in
from recommender.engine.ranking import GOOD_STARS, good_first, order_by_stars, recommend, scores_for
from recommender.engine.similar import similar_movies, similarity_vectors
from recommender.services.experiments import serving_factors
from recommender.services.explore import active_explore
from recommender.services.factors_cache import active_factors
from recommender.services.group_evidence import group_evidence
from recommender.services.impressions import times_shown
from recommender.services.picks_queries import (
    DISMISSED,
    GROUP_DISLIKED,
    GROUP_LIKED,
    SAVED,
    movies_by_id,
    user_rows,
)
from recommender.services.user_generation import user_generation_bump
from recommender.store import get_store

log = logging.getLogger(__name__)

# Reasons name a movie the user liked: rated LIKED stars or more (what protocol P calls liked),
# or above their own mean and at least LIKED_AT_LEAST.
LIKED_AT_LEAST = 3.0


@dataclass(frozen=True)
class Pick:
    """One recommended movie. `personal` is False for popular picks, whose stars are the movie's average."""

    movie: Movie
    stars: float | None
    score: float
    because: Movie | None = None
    personal: bool = True


@dataclass(frozen=True)
class _UserState:
    excluded_ids: set[int]  # rated or "not interested": never picked
    side: int | UserVector  # trained row, or a folded-in vector
    rated_indexes: np.ndarray  # rows in the factors (known movies only)
    rated_values: np.ndarray
    excluded_indexes: np.ndarray
    from_groups: bool  # folded in with the groups chosen at onboarding (group_evidence)


@dataclass(frozen=True)
class _UserRows:
    rated: list[tuple[int, float]]  # (movie id, stars)
    excluded: set[int]  # never to pick: rated, dismissed, saved for later, skipped lately, chosen groups'
    rated_since: bool  # rated after the training snapshot
    evidence: list[tuple[int, float]]  # the chosen groups' movies as stars, while they count


def _user_rows(user_id: int, since: datetime | None, rows: list[tuple[int, float, bool]] | None = None) -> _UserRows:
    """In one query (or from `rows` user_rows gave): the user's ratings, every movie never to pick for
    them, whether they rated after `since` (the training snapshot), and the groups they chose at
    onboarding as evidence.

    Picks are read on every page: one round trip here instead of three is most of
    what a request spends outside the template. A chosen group's movies, the best known of its
    kind, stay out of the picks while the group counts: its other movies are the news.
    """
    if rows is None:
        rows = user_rows(user_id, since)
    rated = [(m, v) for m, v, _ in rows if v >= 0]  # below 0: dismissed, saved, skipped or a group's
    chosen = [(m, v == GROUP_LIKED) for m, v, _ in rows if v in (GROUP_LIKED, GROUP_DISLIKED)]
    evidence = group_evidence(rated, chosen)
    excluded = {m for m, v, _ in rows if v not in (GROUP_LIKED, GROUP_DISLIKED)} | {m for m, _ in evidence}
    return _UserRows(rated, excluded, any(n for _, _, n in rows), evidence)


def _excluded_ids(user_id: int) -> tuple[list[tuple[int, float]], set[int]]:
    """The user's ratings, and every movie never to pick for them (rated or dismissed)."""
    found = _user_rows(user_id, None)
    return found.rated, found.excluded


def _user_state(
    factors: Factors, user_id: int, read: list[tuple[int, float, bool]] | None = None
) -> tuple[_UserState | None, set[int]]:
    found = _user_rows(user_id, _snapshot_time(factors), read)
    rows, excluded = found.rated, found.excluded
    if not rows and not found.evidence:
        return None, excluded
    values = np.array([r[1] for r in rows], dtype=np.float32)
    indexes = factors.movies.index(np.array([r[0] for r in rows], dtype=np.int64), unknown="missing")
    known = indexes >= 0
    trained_row = factors.user_index(user_id)
    # The trained vector holds while the user has not rated since the snapshot (nor chose groups).
    if trained_row is not None and not found.rated_since and not found.evidence:
        side: int | UserVector = trained_row
    else:
        chosen = factors.movies.index(np.array([m for m, _ in found.evidence], dtype=np.int64), unknown="missing")
        stars = np.array([s for _, s in found.evidence], dtype=np.float32)
        side = fold_in(
            factors,
            np.concatenate([indexes[known], chosen[chosen >= 0]]),
            np.concatenate([values[known], stars[chosen >= 0]]),
        )
    excluded_indexes = factors.movies.index(np.array(sorted(excluded), dtype=np.int64), unknown="missing")
    state = _UserState(
        excluded, side, indexes[known], values[known], excluded_indexes[excluded_indexes >= 0], bool(found.evidence)
    )
    return state, excluded


def user_side(factors: Factors, user_id: int) -> int | UserVector | None:
    """The user's side of the model: their trained row, or their ratings folded in when they rated
    since the training snapshot (or were not in it); None when they have rated nothing."""
    state, _ = _user_state(factors, user_id)
    return state.side if state is not None else None


@dataclass(frozen=True)
class UserMarks:
    """What a person has done to movies, as a movie's page shows it: their stars, "not interested",
    saved for later."""

    stars: dict[int, float]
    dismissed: frozenset[int]
    saved: frozenset[int]


def user_side_and_marks(factors: Factors, user_id: int) -> tuple[int | UserVector | None, UserMarks]:
    """user_side and the user's marks, from the one query both read."""
    rows = user_rows(user_id, _snapshot_time(factors))
    state, _ = _user_state(factors, user_id, rows)
    marks = UserMarks(
        stars={m: float(v) for m, v, _ in rows if v >= 0},
        dismissed=frozenset(m for m, v, _ in rows if v == DISMISSED),
        saved=frozenset(m for m, v, _ in rows if v == SAVED),
    )
    return (state.side if state is not None else None), marks


def _snapshot_time(factors: Factors) -> datetime:
    return datetime.fromisoformat(factors.metadata["snapshot_at"])


def _ranked(factors: Factors, state: _UserState, n: int, *, as_indexes: bool = False) -> np.ndarray:
    """The user's top n by pick score (raw movie ids, or movie indexes)."""
    kwargs = {"user_vector": state.side} if isinstance(state.side, UserVector) else {"user_index": state.side}
    indexes, _ = recommend(factors, n=n, exclude=state.excluded_indexes, **kwargs)
    return indexes.astype(np.int64) if as_indexes else factors.movie_ids[indexes]


def user_picks_refresh(*, user_id: int) -> np.ndarray | None:
    """Recompute one user's list against the version serving them and store it (after they rate).

    Returns the new list of movie ids, or None when there is no model or no rating.
    """
    try:
        loaded = serving_factors(user_id)
        if loaded is None:
            return None
        version_id, factors = loaded
        state, _ = _user_state(factors, user_id)
        ranked = (
            np.zeros(0, dtype=np.int64) if state is None else _ranked(factors, state, settings.RECOMMENDER_LIST_LENGTH)
        )
        store = get_store()
        if store is not None:
            store.put(version_id, user_id, ranked)
        return ranked
    finally:
        # After the new list is stored (or failed to be): page sections cached for the user before
        # are stale, and none rendered from the old list can be cached under the new generation.
        user_generation_bump(user_id=user_id)


def user_picks_refresh_logged(*, user_id: int) -> None:
    """user_picks_refresh for a page or an API call that has already saved the user's change:
    a recommender failure is logged, never shown to the user (the change itself stands)."""
    try:
        user_picks_refresh(user_id=user_id)
    except Exception:
        log.exception("refreshing the picks of user %s failed", user_id)


# Inside reading_once(): each user's state and ranked list, read once for all the lists a page shows.
_read_once: ContextVar[dict[tuple[int, int], tuple] | None] = ContextVar("picks_read_once", default=None)


@contextmanager
def reading_once() -> Iterator[None]:
    """recommend_for calls inside read each user's ratings, stored list and impressions once: a home
    section shows the top 20 and rows from the top 100 of the same list."""
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)


def _ranked_for(factors: Factors, version_id: int, user_id: int) -> tuple[_UserState | None, set[int], np.ndarray]:
    """The user's state, excluded movies and ranked list (stored or computed, filtered, discounted)."""
    state, excluded = _user_state(factors, user_id)
    if state is None:
        return None, excluded, np.zeros(0, dtype=np.int64)
    store = get_store()
    # A list a retrain stored for the user's trained row knows nothing of their groups: rank anew.
    hit = store.get(user_id, version=version_id) if store is not None and not state.from_groups else None
    if hit is not None:
        ranked = hit[1]
    else:
        ranked = _ranked(factors, state, settings.RECOMMENDER_LIST_LENGTH)
        if store is not None:
            store.put(version_id, user_id, ranked)
    # A stored list predates any change its refresh missed (Redis away): filter it again.
    ranked = np.array([m for m in ranked.tolist() if m not in excluded], dtype=np.int64)
    return state, excluded, _discounted(ranked, user_id)


def recommend_for(user: object, n: int = 10) -> list[Pick]:
    """The user's top `n` movies with predicted stars and a reason.

    The n best by pick score (ranking.PickSpace), those predicted GOOD_STARS or more before
    the others, shown with the most stars first: the order a person reads agrees with the
    stars on the cards. A user with no ratings (or a site with no trained model) gets popular
    movies. Movies the user rated or marked "not interested" never appear.
    """
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return popular_picks(n=n)
    loaded = serving_factors(user_id)  # the active version's, or an experiment's challenger's in its arm
    if loaded is None:
        return popular_picks(n=n, exclude=_excluded_ids(user_id)[1])
    version_id, factors = loaded
    shared = _read_once.get()
    found = shared.get((user_id, version_id)) if shared is not None else None
    if found is None:
        found = _ranked_for(factors, version_id, user_id)
        if shared is not None:
            shared[(user_id, version_id)] = found
    state, excluded, ranked = found
    if state is None:
        return popular_picks(n=n, exclude=excluded)
    indexes = factors.movies.index(ranked, unknown="missing")
    indexes = indexes[indexes >= 0][: 4 * n]
    stars = factors.predict_ratings(state.side, indexes)
    if np.count_nonzero(np.round(stars, 1) >= GOOD_STARS) < min(n, len(indexes)):
        # Too few picks the person is predicted to like near the top of the stored list.
        indexes = _ranked(factors, state, n, as_indexes=True)
        stars = factors.predict_ratings(state.side, indexes)
    # The n best by pick score, those predicted GOOD_STARS or more first, shown most stars first.
    chosen = good_first(stars)[:n]
    indexes, stars = indexes[chosen], stars[chosen]
    order = order_by_stars(stars)
    indexes, stars = indexes[order], stars[order]
    ranked = factors.movie_ids[indexes]
    reasons = _reasons(factors, state, indexes)
    movies = movies_by_id([*ranked.tolist(), *(r for r in reasons.tolist() if r >= 0)])
    if not any(m in movies for m in ranked.tolist()):
        return popular_picks(n=n, exclude=excluded)
    scores = scores_for(factors, state.side, indexes)
    return [
        Pick(movie=movies[m], stars=float(s), score=float(sc), because=movies.get(r))
        for m, s, sc, r in zip(ranked.tolist(), stars, scores, reasons.tolist(), strict=True)
        if m in movies  # a movie deleted since the list was made
    ]


def _discounted(ranked: np.ndarray, user_id: int) -> np.ndarray:
    """Picks shown on many days without an action move down (engine.discounting; off at strength 0)."""
    strength = settings.RECOMMENDER_DISCOUNT_STRENGTH
    return discounted(ranked, times_shown(user_id=user_id), strength) if strength > 0 else ranked


def _liked(state: _UserState) -> np.ndarray:
    """The user's movies a reason may name: rated LIKED or more, or above their own mean (never low)."""
    values = state.rated_values
    mean = float(values.mean()) if len(values) else 0.0
    return state.rated_indexes[(values >= LIKED) | ((values > mean) & (values >= LIKED_AT_LEAST))]


def _reasons(factors: Factors, state: _UserState, pick_indexes: np.ndarray) -> np.ndarray:
    """For each pick, the liked movie most like it (similar_movies' measure); -1 if none is like it."""
    liked = _liked(state)
    if len(liked) == 0 or len(pick_indexes) == 0:
        return np.full(len(pick_indexes), -1, dtype=np.int64)
    unit = similarity_vectors(factors)
    closeness = unit[pick_indexes] @ unit[liked].T
    best = np.argmax(closeness, axis=1)
    named = factors.movie_ids[liked[best]].astype(np.int64)
    return np.where(closeness[np.arange(len(best)), best] > 0, named, -1)


def popular_picks(*, n: int, exclude: set[int] | None = None) -> list[Pick]:
    """Well-rated, much-rated movies: what someone we know nothing about is likely to enjoy."""
    movies = (
        Movie.objects.exclude(pk__in=exclude or ())
        .filter(ratings_count__gte=settings.RECOMMENDER_POPULAR_MIN_RATINGS)
        .order_by("-ratings_count", "-ratings_mean")[:n]
    )
    picks = [_popular(m) for m in movies]
    if len(picks) < n:  # a young catalogue: fill with whatever has ratings at all
        taken = {p.movie.pk for p in picks} | (exclude or set())
        more = Movie.objects.exclude(pk__in=taken).order_by("-ratings_count", "title")[: n - len(picks)]
        picks += [_popular(m) for m in more]
    return picks


def _popular(movie: Movie) -> Pick:
    return Pick(movie=movie, stars=movie.ratings_mean, score=float(movie.ratings_count), personal=False)


def similar_to(movie: Movie, n: int = 10) -> list[tuple[Movie, float]]:
    """Movies most like `movie` in the active model, best first, with their similarity.

    From the version's similar table (vectors and shared title words, computed with the explore
    data) when it is there, else from the vectors alone (similar_movies).
    """
    loaded = active_factors()
    if loaded is None:
        return []
    _, factors = loaded
    index = factors.movie_index(movie.pk)
    if index is None:
        return []
    explore = active_explore()
    table = explore.similar.get(movie.pk) if explore is not None else None
    if table:
        pairs = [(int(m), float(score)) for m, score in table[:n]]
    else:
        indexes, cosines = similar_movies(factors, index, n)
        pairs = [(int(m), float(c)) for m, c in zip(factors.movie_ids[indexes], cosines, strict=True)]
    movies = Movie.objects.in_bulk([m for m, _ in pairs])
    return [(movies[m], score) for m, score in pairs if m in movies]
