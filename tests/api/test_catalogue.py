"""Public reads: movies (search, filters, sort, paging), one movie, genres, the active model."""

import pytest
from django.contrib.staticfiles import finders

from recommender.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_it_lists_movies_with_their_genres_in_a_fixed_number_of_queries(api, movies, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = api.get("/api/movies", {"sort": "title"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [m["title"] for m in body["results"]][:2] == ["Amélie", "Heat"]
    assert body["results"][-1]["genres"] == ["Animation", "Comedy"]


def test_it_searches_titles_and_filters_by_genre_and_year(api, movies):
    assert [m["id"] for m in api.get("/api/movies", {"q": "toy"}).json()["results"]] == [1]
    comedies = api.get("/api/movies", {"genre": "comedy", "sort": "count"}).json()["results"]
    assert [m["id"] for m in comedies] == [1, 2, 5]
    nineties = api.get("/api/movies", {"year_from": 1996, "year_to": 2000}).json()["results"]
    assert [m["id"] for m in nineties] == [4]


def test_an_unknown_genre_finds_no_movies(api, movies):
    body = api.get("/api/movies", {"genre": "Western"}).json()
    assert body == {"count": 0, "page": 1, "pages": 1, "results": []}


def test_it_pages_and_a_page_past_the_end_is_empty(api, movies):
    first = api.get("/api/movies", {"sort": "count", "page_size": 2}).json()
    assert (first["count"], first["pages"], [m["id"] for m in first["results"]]) == (5, 3, [1, 2])
    third = api.get("/api/movies", {"sort": "count", "page_size": 2, "page": 3}).json()
    assert [m["id"] for m in third["results"]] == [5]
    assert api.get("/api/movies", {"page": 99}).json()["results"] == []


@pytest.mark.parametrize(
    "params",
    [{"sort": "best"}, {"page": 0}, {"page_size": 1000}, {"year_from": "soon"}, {"q": "a\x00b"}, {"min_ratings": -1}],
)
def test_bad_query_parameters_are_a_422_naming_the_parameter(api, movies, params):
    response = api.get("/api/movies", params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"]


def test_one_movie_comes_with_its_similar_movies(api, movies, mocker):
    mocker.patch("recommender.api.movies.similar_to", return_value=[(movies["Jumanji"], 0.9)])
    body = api.get("/api/movies/1").json()
    assert body["movie"]["title"] == "Toy Story"
    assert body["similar"] == [{"movie": api.get("/api/movies/2").json()["movie"], "similarity": 0.9}]


def test_one_movie_without_a_model_has_no_similar_movies(api, movies):
    assert api.get("/api/movies/1").json()["similar"] == []


@pytest.mark.parametrize("movie_id", ["999", "2147483647", "99999999999999999999", "0", "-1", "abc"])
def test_a_bad_movie_id_is_a_404_or_422_never_a_500(api, movies, movie_id):
    response = api.get(f"/api/movies/{movie_id}")
    assert response.status_code == (404 if movie_id in {"999", "2147483647"} else 422)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"]


def test_genres_are_listed_by_name(api, movies):
    assert [g["name"] for g in api.get("/api/genres").json()] == ["Animation", "Comedy", "Drama", "Sci-Fi"]


def test_the_active_model_and_its_metrics(api, db):
    assert api.get("/api/model").status_code == 404
    ModelVersion.objects.create(preset="default", state="ready", metrics={"rmse": 0.9})
    ModelVersion.objects.create(
        preset="default", state="active", is_active=True, metrics={"rmse": 0.85, "ndcg@10": 0.2}, n_ratings=100
    )
    body = api.get("/api/model").json()
    assert body["metrics"] == {"rmse": 0.85, "ndcg@10": 0.2}
    assert (body["state"], body["n_ratings"]) == ("active", 100)


def test_the_schema_and_the_docs_are_published_and_the_docs_need_no_cdn(api, db):
    schema = api.get("/api/openapi.json").json()
    assert {"/api/movies", "/api/me/picks", "/api/me/ratings/{movie_id}"} <= set(schema["paths"])
    docs = api.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs
    # ...and the files it names are ours: found by staticfiles, so collectstatic ships them.
    assert finders.find("ninja/swagger-ui-bundle.js") and finders.find("ninja/swagger-ui.css")
