"""The groups a new user chose at onboarding, as evidence the fold-in reads beside their ratings.

A liked group's movies count as rated LIKED_STARS, a rejected group's as DISLIKED_STARS (a "not for
me" as the ranking objective reads one: stars.StarSettings.dislike_at), while the person has rated
fewer than COUNTS_UNTIL_RATINGS movies. A group says less than a rating of a movie one has seen, so
real ratings take over: a movie the person rated counts with their own stars only, and past that
many ratings the groups no longer count at all. Nothing here is ever a rating (movies.GroupChoice).
"""

from __future__ import annotations

from collections.abc import Iterable

LIKED_STARS = 4.5
DISLIKED_STARS = 1.0
# Twice onboarding's five ratings: by then the person's own stars say more than the groups.
COUNTS_UNTIL_RATINGS = 10


def group_evidence(rated: Iterable[tuple[int, float]], chosen: Iterable[tuple[int, bool]]) -> list[tuple[int, float]]:
    """(movie id, stars) the fold-in reads for the chosen groups' movies, beside the real ratings.

    Args:
        rated: the person's ratings, (movie id, stars).
        chosen: (movie id, liked) for each movie of a group they chose.

    Returns:
        One pair per chosen movie they have not rated; none once they rated COUNTS_UNTIL_RATINGS movies.
    """
    rated_ids = {movie_id for movie_id, _ in rated}
    if len(rated_ids) >= COUNTS_UNTIL_RATINGS:
        return []
    return [
        (movie_id, LIKED_STARS if liked else DISLIKED_STARS) for movie_id, liked in chosen if movie_id not in rated_ids
    ]
