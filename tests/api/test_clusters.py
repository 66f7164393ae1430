"""Clusters of the active model: the list, one cluster with its movies (paged), and the 404s."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.models import ModelVersion
from recommender.services import explore
from recommender.services.explore import FILENAME, explore_write
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(db, trained_run) -> Iterator[ModelVersion]:
    """The two-tastes world (movies 1-20 Action, 21-40 Romance) with an active, trained version."""
    explore.forget()
    two_tastes_world()
    yield install(trained_run)
    explore.forget()


def _write_clusters(version: ModelVersion, clusters: list[dict]) -> None:
    """Replace the version's explore data with these clusters, so a test knows what they hold."""
    explore_write(
        data={"format": 1, "version": version.pk, "points": [], "clusters": clusters, "likes": [], "dislikes": []},
        directory=version.artifact_path,
    )
    explore.forget()


def test_it_lists_the_clusters_of_the_active_model_with_size_and_typical_genres(api, trained):
    response = api.get("/api/clusters")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == trained.pk
    clusters = body["clusters"]
    assert clusters and sum(c["size"] for c in clusters) == 40  # every trained movie in exactly one
    assert len({c["id"] for c in clusters}) == len(clusters)
    for cluster in clusters:
        assert cluster["name"] and cluster["titles"]
        assert {g["name"] for g in cluster["genres"]} <= {"Action", "Romance"}
        assert all(0 < g["share"] <= 1 for g in cluster["genres"])


def test_one_cluster_lists_its_movies_most_rated_first_in_pages(api, trained, django_assert_max_num_queries):
    _write_clusters(
        trained,
        [
            {"label": 7, "name": "Action heroes", "genres": [["Action", 1.0]], "titles": ["A"], "movie_ids": [1, 2, 3]},
            {"label": 9, "name": "Love", "genres": [["Romance", 0.9]], "titles": ["B"], "movie_ids": [21, 22]},
        ],
    )
    api.get("/api/clusters/7")  # loads the factors and the explore file once
    with django_assert_max_num_queries(4):
        first = api.get("/api/clusters/7", {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert body["cluster"] == {
        "id": 7,
        "name": "Action heroes",
        "size": 3,
        "genres": [{"name": "Action", "share": 1.0}],
        "titles": ["A"],
    }
    assert (body["version"], body["count"], body["page"], body["pages"]) == (trained.pk, 3, 1, 2)
    counts = [m["ratings_count"] for m in body["results"]]
    assert counts == sorted(counts, reverse=True)
    second = api.get("/api/clusters/7", {"page_size": 2, "page": 2}).json()
    assert {m["id"] for m in body["results"] + second["results"]} == {1, 2, 3}
    assert second["results"][0]["genres"] == ["Action"]
    assert api.get("/api/clusters/7", {"page": 50}).json()["results"] == []


def test_an_unknown_cluster_is_a_404_naming_the_id_and_the_version(api, trained):
    response = api.get("/api/clusters/4242")
    assert response.status_code == 404
    assert response.json()["detail"] == f"No cluster with id 4242 in the active model (v{trained.pk})."


@pytest.mark.parametrize("cluster_id", ["-1", "abc", "1.5", "99999999999999999999"])
def test_a_malformed_cluster_id_is_a_422(api, db, cluster_id):
    response = api.get(f"/api/clusters/{cluster_id}")
    assert response.status_code == 422
    assert "cluster_id" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/api/clusters", "/api/clusters/0"])
def test_without_an_active_model_clusters_are_a_404_that_says_so(api, db, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json()["detail"] == "No model version is active yet, so there are no clusters."


def test_an_active_model_without_its_explore_data_is_a_404_that_says_what_to_run(api, trained):
    artifact = Path(trained.artifact_path)  # the factors file, or the directory holding it
    (artifact if artifact.is_dir() else artifact.parent).joinpath(FILENAME).unlink()
    explore.forget()
    for url in ("/api/clusters", "/api/clusters/0"):
        response = api.get(url)
        assert response.status_code == 404
        assert f"explore_refresh --version {trained.pk}" in response.json()["detail"]


def test_clusters_are_in_the_published_schema(api, db):
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/clusters", "/api/clusters/{cluster_id}"} <= set(paths)
    assert {"200", "404"} <= set(paths["/api/clusters/{cluster_id}"]["get"]["responses"])
