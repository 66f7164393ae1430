"""Onboarding's pick-groups step on a trained version: the groups offered, and a choice that steers the picks.

The two-tastes world's version has two clusters, the "A" movies and the "B" ones: one person likes the
A group and rejects the B group, another the reverse, and neither has rated anything.
"""

import pytest
from django.contrib.auth.models import User

from movies import services as movie_services
from movies.models import GroupChoice, Movie, Rating
from movies.totals import movie_totals_recount
from recommender import services
from recommender.services import explore
from recommender.services.explore import active_explore, explore_refresh
from recommender.services.group_evidence import COUNTS_UNTIL_RATINGS, DISLIKED_STARS, LIKED_STARS, group_evidence
from recommender.services.pick_groups import GROUP_MOVIES, PickGroup, pick_groups_offered
from recommender.services.predictions import predicted_stars
from tests.trained import install

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(two_tastes, trained_run):
    """The world's version with its clusters made as training makes them, from the movies' rating
    counts (the session's training ran before the world's totals were counted: one cluster)."""
    movie_totals_recount()
    explore_refresh(version=install(trained_run))
    yield two_tastes
    explore.forget()


def _groups() -> dict[str, PickGroup]:
    """The offered groups by kind: "A" when all their movies are A movies (ids 1-20), else "B"."""
    _, groups = pick_groups_offered()
    return {"A" if all(m <= 20 for m in g.movie_ids) else "B": g for g in groups}


def _choose(user: User, *, like: PickGroup, reject: PickGroup) -> None:
    movie_services.group_choice_set(
        user=user, groups=[(like.name, like.movie_ids, True), (reject.name, reject.movie_ids, False)]
    )
    services.user_picks_refresh(user_id=user.pk)


def test_the_groups_are_the_versions_clusters_shown_by_their_best_known_movies(trained):
    version_id, groups = pick_groups_offered()
    assert version_id and len(groups) == 2
    by_kind = _groups()
    assert set(by_kind) == {"A", "B"}  # each group is one taste, not a mix
    assert all(m > 20 for m in by_kind["B"].movie_ids)
    names = {c.label: c.name for c in active_explore().clusters}
    for group in groups:
        assert names[group.label].startswith(f"{group.name}: ")  # the genres that name the cluster
        counts = [Movie.objects.get(pk=m).ratings_count for m in group.movie_ids]
        assert len(group.shown_ids) == GROUP_MOVIES and counts == sorted(counts, reverse=True)  # best known first


def test_opposite_choices_give_opposite_picks_and_stars_without_a_rating(trained):
    groups = _groups()
    likes_a, likes_b = User.objects.create(username="likes-a"), User.objects.create(username="likes-b")
    assert services.recommend_for(likes_a, n=5)[0].personal is False  # nothing chosen: popular picks
    _choose(likes_a, like=groups["A"], reject=groups["B"])
    _choose(likes_b, like=groups["B"], reject=groups["A"])

    picks_a, picks_b = services.recommend_for(likes_a, n=5), services.recommend_for(likes_b, n=5)
    assert all(p.personal for p in picks_a + picks_b)
    assert sum(p.movie.pk <= 20 for p in picks_a) >= 4, [p.movie.pk for p in picks_a]
    assert sum(p.movie.pk > 20 for p in picks_b) >= 4, [p.movie.pk for p in picks_b]
    # The groups' own movies are the news no more: the picks are the rest of each taste.
    chosen = set(groups["A"].movie_ids) | set(groups["B"].movie_ids)
    assert not {p.movie.pk for p in picks_a + picks_b} & chosen
    # Cards' predicted stars follow too: an A movie outside the groups is predicted higher for likes-a.
    other_a = next(m for m in range(1, 21) if m not in chosen)
    assert predicted_stars(likes_a, [other_a])[other_a] > predicted_stars(likes_b, [other_a])[other_a] + 1
    assert Rating.objects.filter(user__in=[likes_a, likes_b]).count() == 0


def test_a_choice_replaces_the_one_before(trained):
    groups = _groups()
    person = User.objects.create(username="changes-mind")
    _choose(person, like=groups["B"], reject=groups["A"])
    _choose(person, like=groups["A"], reject=groups["B"])
    liked = set(GroupChoice.objects.filter(user=person, liked=True).values_list("movie_id", flat=True))
    assert liked == set(groups["A"].movie_ids)
    assert sum(p.movie.pk <= 20 for p in services.recommend_for(person, n=5)) >= 4


def test_real_ratings_outweigh_the_groups_and_end_them(trained):
    groups = _groups()
    person = User.objects.create(username="rates-against")
    _choose(person, like=groups["A"], reject=groups["B"])
    b_movies = [m for m in range(21, 41) if m not in groups["B"].movie_ids]
    for movie_id in b_movies[:COUNTS_UNTIL_RATINGS]:
        movie_services.rating_create_or_update(user=person, movie_id=movie_id, value=5.0)
    services.user_picks_refresh(user_id=person.pk)
    picks = services.recommend_for(person, n=5)
    assert sum(p.movie.pk > 20 for p in picks) >= 4, [p.movie.pk for p in picks]
    # The groups no longer count, so their movies may be picked again.
    assert group_evidence(Rating.objects.filter(user=person).values_list("movie_id", "value"), [(1, True)]) == []


def test_group_evidence_leaves_out_rated_movies_and_stops_at_enough_ratings():
    chosen = [(1, True), (2, True), (3, False)]
    assert group_evidence([], chosen) == [(1, LIKED_STARS), (2, LIKED_STARS), (3, DISLIKED_STARS)]
    assert group_evidence([(2, 1.5)], chosen) == [(1, LIKED_STARS), (3, DISLIKED_STARS)]
    enough = [(100 + i, 4.0) for i in range(COUNTS_UNTIL_RATINGS)]
    assert group_evidence(enough, chosen) == []


def test_no_groups_without_a_trained_version(db):
    assert pick_groups_offered() == (0, [])


def test_one_cluster_is_no_choice(two_tastes, trained_run):
    install(trained_run)  # trained before the world's totals were counted: one cluster of all 40 movies
    movie_totals_recount()
    assert len(active_explore().clusters) == 1
    assert pick_groups_offered()[1] == []
