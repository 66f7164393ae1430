"""What each page shows, recorded as impressions with the version and experiment arm that served it.

Views and the API call these after building (or reading from the cache) what they show; the
recording itself is a queue append (recommender.services.impressions) that never fails a page.
"""

from __future__ import annotations

from collections.abc import Sequence

from recommender.services.experiments import serving_arm, serving_version_id
from recommender.services.factors_cache import active_version_id
from recommender.services.impressions import Source, impressions_record, shown_in


def picks_shown(*, user_id: int | None, source: str, movie_ids: Sequence[int]) -> bool:
    """A person's picks (home page, API): recorded under the version and arm serving them."""
    if user_id is None or not movie_ids:
        return False
    experiment_id, arm = serving_arm(user_id)
    return impressions_record(
        user_id=user_id,
        source=source,
        movie_ids=movie_ids,
        version_id=serving_version_id(user_id),
        experiment_id=experiment_id,
        arm=arm,
    )


def section_picks_shown(*, user_id: int | None, source: str, html: str | bytes) -> bool:
    """The picks a cached section names in its shown_mark."""
    return picks_shown(user_id=user_id, source=source, movie_ids=shown_in(html))


def similar_shown(*, user_id: int | None, movie_ids: Sequence[int]) -> bool:
    """A similar-movies list: always the active version's, whatever experiment runs."""
    if user_id is None or not movie_ids:
        return False
    return impressions_record(
        user_id=user_id, source=Source.SIMILAR, movie_ids=movie_ids, version_id=active_version_id()
    )


def section_similar_shown(*, user_id: int | None, html: str) -> bool:
    """The similar movies a cached movie-page part names in its shown_mark."""
    return similar_shown(user_id=user_id, movie_ids=shown_in(html))
