"""The model's pages: movie page blocks, browse by predicted stars, map, clusters, biases."""

import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from movies.models import Rating
from recommender.services import explore
from recommender.services.predictions import predicted_order, predicted_stars
from tests.conftest import REPO
from tests.trained import install

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(two_tastes, trained_run):
    explore.forget()
    install(trained_run)
    yield two_tastes
    explore.forget()


def test_predicted_stars_follow_the_users_taste(trained):
    fan_of_a = trained[0]
    stars = predicted_stars(fan_of_a, [1, 2, 39, 40])
    assert set(stars) == {1, 2, 39, 40}
    assert all(0.5 <= s <= 5.0 for s in stars.values())
    assert min(stars[1], stars[2]) > max(stars[39], stars[40])


def test_predicted_stars_are_empty_for_anonymous_users_and_unknown_movies(trained):
    from django.contrib.auth.models import AnonymousUser

    assert predicted_stars(AnonymousUser(), [1]) == {}
    assert predicted_stars(trained[0], [999_999]) == {}


def test_predicted_stars_move_when_a_new_user_rates(trained):
    newcomer = User.objects.create(username="newcomer")
    assert predicted_stars(newcomer, [1]) == {}
    now = timezone.now()
    Rating.objects.bulk_create([Rating(user=newcomer, movie_id=m, value=5.0, rated_at=now) for m in (1, 2, 3, 4, 5)])
    stars = predicted_stars(newcomer, [6, 36])
    assert stars[6] > stars[36]


def test_the_movie_page_shows_predicted_stars_similar_movies_and_the_cluster(trained, client):
    client.force_login(trained[0])
    response = client.get(reverse("movies:detail", args=[1]))
    assert response.status_code == 200
    assert response.context["predicted_stars"] is not None
    similar = response.context["similar"]
    assert similar and sum(m.pk <= 20 for m in similar) >= len(similar) - 2
    cluster = response.context["cluster"]
    assert cluster is not None and 1 in cluster.movie_ids
    assert reverse("movies:explore_cluster", args=[cluster.label]) in response.content.decode()


def test_the_movie_page_answers_in_few_queries(trained, client, django_assert_max_num_queries):
    client.force_login(trained[0])
    client.get(reverse("movies:detail", args=[1]))  # loads the factors and explore data once
    with django_assert_max_num_queries(14):
        assert client.get(reverse("movies:detail", args=[2])).status_code == 200


def test_browse_sorts_by_the_users_predicted_stars(trained, client, django_assert_max_num_queries):
    fan_of_b = trained[39]
    client.force_login(fan_of_b)
    client.get(reverse("movies:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("movies:list"), {"sort": "predicted"})
    movies = list(response.context["page"])
    assert len(movies) == 24
    assert sum(m.pk > 20 for m in movies[:10]) >= 9
    predicted = response.context["predicted"]
    shown = [predicted[m.pk] for m in movies]
    assert shown == sorted(shown, reverse=True)
    assert response.context["page"].paginator.count == 40


def test_browse_by_predicted_stars_keeps_the_filters(trained, client):
    client.force_login(trained[0])
    response = client.get(reverse("movies:list"), {"sort": "predicted", "q": "B movie"})
    assert {m.pk for m in response.context["page"]} == set(range(21, 41))


def test_browse_by_predicted_stars_falls_back_to_average_for_anonymous_users(trained, client):
    response = client.get(reverse("movies:list"), {"sort": "predicted"})
    assert response.status_code == 200
    assert response.context["predicted"] == {}


def test_predicted_order_ranks_the_whole_catalogue(trained):
    ids, stars = predicted_order(trained[0])
    assert sorted(ids.tolist()) == list(range(1, 41))
    assert list(stars) == sorted(stars, reverse=True)


def test_the_map_json_has_a_point_per_mapped_movie(trained, client, django_assert_max_num_queries):
    client.get(reverse("movies:explore_map"))
    with django_assert_max_num_queries(3):
        response = client.get(reverse("movies:explore_map_points"))
    data = response.json()
    assert response.status_code == 200
    assert len(data["points"]) == 40
    _movie_id, title, x, y, cluster = data["points"][0]
    assert title.endswith("(2000)") and 0 <= x <= 1 and 0 <= y <= 1
    assert cluster in {label for label, _ in data["clusters"]}


def test_the_map_gives_a_signed_in_person_their_own_stars_and_nobody_else_any(trained, client):
    fan = User.objects.get(username="fan0")
    assert client.get(reverse("movies:explore_map_mine")).json() == {"ratings": []}  # a visitor
    client.force_login(fan)
    response = client.get(reverse("movies:explore_map_mine"))
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
    expected = sorted(Rating.objects.filter(user=fan).values_list("movie_id", "value"))
    assert [tuple(pair) for pair in response.json()["ratings"]] == expected and expected
    page = client.get(reverse("movies:explore_map")).content.decode()
    assert reverse("movies:explore_map_mine") in page and 'id="movie-map-search"' in page


@pytest.mark.parametrize("name", ["explore_map", "explore_clusters", "explore_biases", "explore"])
def test_the_explore_pages_answer_in_few_queries(trained, client, django_assert_max_num_queries, name):
    client.get(reverse(name if ":" in name else f"movies:{name}"))
    with django_assert_max_num_queries(10):
        response = client.get(reverse(f"movies:{name}"))
    assert response.status_code == 200


def test_a_cluster_page_lists_its_movies(trained, client, django_assert_max_num_queries):
    data = explore.active_explore()
    cluster = data.clusters[0]
    with django_assert_max_num_queries(8):
        response = client.get(reverse("movies:explore_cluster", args=[cluster.label]))
    assert response.status_code == 200
    assert {m.pk for m in response.context["movies"]} == set(cluster.movie_ids)
    assert cluster.name in response.content.decode()


def test_an_unknown_cluster_is_a_404(trained, client):
    assert client.get(reverse("movies:explore_cluster", args=[9999])).status_code == 404


def test_the_biases_page_lists_liked_and_disliked_movies(trained, client):
    response = client.get(reverse("movies:explore_biases"))
    likes, dislikes = response.context["likes"], response.context["dislikes"]
    assert likes and dislikes
    assert likes[0][1] >= likes[-1][1] and dislikes[0][1] <= dislikes[-1][1]


def test_without_explore_data_the_pages_say_so(two_tastes, client):
    for name in ("explore_map", "explore_clusters", "explore_biases"):
        response = client.get(reverse(f"movies:{name}"))
        assert response.status_code == 200
        assert "no explore data yet" in response.content.decode()
    assert client.get(reverse("movies:explore_map_points")).status_code == 404


def test_no_model_page_imports_tensorflow(trained):
    urls = [
        "/movies/1/",
        "/movies/?sort=predicted",
        "/explore/map/",
        "/explore/map/points.json",
        "/explore/map/mine.json",
        "/explore/clusters/",
    ]
    code = (
        "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()\n"
        "import movies.views.catalogue, movies.views.explore\n"
        "import recommender.services.explore, recommender.services.predictions\n"
        "from django.urls import resolve\n"
        f"[resolve(u.split('?')[0]) for u in {urls!r}]\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
