"""Bad input on every endpoint: a JSON 4xx whose message names what is wrong, never a 500 or HTML.

Tables, not one test per case: each row is a call and what it must answer. The calls are made
as alice (bearer token), so the "me" operations reach their input checks instead of a 401.
"""

import re

import pytest

from movies.models import Rating

from .conftest import ME_CALLS
from .conftest import call as _call

pytestmark = pytest.mark.django_db

HUGE = "9" * 30

# Every operation of the schema, with a valid path (the first test checks that none is missing).
OPERATIONS = [
    ("get", "/api/movies"),
    ("get", "/api/movies/1"),
    ("get", "/api/genres"),
    ("get", "/api/model"),
    ("get", "/api/clusters"),
    ("get", "/api/clusters/0"),
    *ME_CALLS,
]


def _json_error(response, status: int | tuple[int, ...]) -> str:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json; charset=utf-8"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def test_the_table_covers_every_operation_of_the_schema(api, db):
    paths = api.get("/api/openapi.json").json()["paths"]
    published = {(method, path) for path, ops in paths.items() for method in ops}
    covered = set()
    for method, url in OPERATIONS:
        for path in paths:
            pattern = path.replace("{movie_id}", "[0-9]+").replace("{cluster_id}", "[0-9]+")
            if re.fullmatch(pattern, url):
                covered.add((method, path))
    assert covered == published


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_an_unknown_query_parameter_is_a_400_naming_it(as_alice, movies, method, url):
    detail = _json_error(_call(as_alice, method, f"{url}?colour=red&page_sise=3"), 400)
    assert "colour" in detail and "page_sise" in detail
    assert Rating.objects.filter(movie_id=4).count() == 0  # a refused PUT changed nothing


@pytest.mark.parametrize(("method", "url"), [op for op in OPERATIONS if op[1].rstrip("0123456789") != op[1]])
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1", HUGE, "1e3"])
def test_a_malformed_id_is_a_422_naming_the_id(as_alice, movies, method, url, bad_id):
    base = url.rstrip("0123456789")
    detail = _json_error(_call(as_alice, method, base + bad_id), 422)
    assert "_id" in detail


@pytest.mark.parametrize(
    ("method", "url", "status", "words"),
    [
        ("get", "/api/movies/999", 404, "No movie with id 999"),
        ("get", "/api/movies/2147483647", 404, "No movie with id 2147483647"),
        ("get", "/api/movies/2147483648", 422, "movie_id"),
        ("put", "/api/me/ratings/999", 404, "No movie with id 999"),
        ("delete", "/api/me/ratings/4", 404, "You have not rated movie 4"),
        ("put", "/api/me/not-interested/999", 404, "No movie with id 999"),
        ("delete", "/api/me/not-interested/1", 404, "not marked"),
        ("put", "/api/me/watchlist/999", 404, "No movie with id 999"),
        ("delete", "/api/me/watchlist/1", 404, "not on your watchlist"),
        ("get", "/api/clusters/0", 404, "No model version is active"),
        ("get", "/api/model", 404, "No model version is active"),
    ],
)
def test_an_id_of_nothing_is_a_404_that_says_what_is_missing(as_alice, movies, method, url, status, words):
    assert words in _json_error(_call(as_alice, method, url), status)


@pytest.mark.parametrize(
    ("url", "param"),
    [
        (f"/api/me/picks?n={HUGE}", "n"),
        ("/api/me/picks?n=101", "n"),
        ("/api/me/picks?n=0", "n"),
        ("/api/me/picks?n=ten", "n"),
        (f"/api/movies?page={HUGE}", "page"),
        ("/api/movies?page_size=101", "page_size"),
        (f"/api/movies?min_ratings={HUGE}", "min_ratings"),
        ("/api/movies?year_from=99999", "year_from"),
        ("/api/movies?sort=random", "sort"),
        (f"/api/movies?q={'x' * 201}", "q"),
        ("/api/movies/1?similar=51", "similar"),
        (f"/api/me/ratings?page={HUGE}", "page"),
        ("/api/me/ratings?page_size=1000", "page_size"),
        ("/api/me/ratings?sort=best", "sort"),
        (f"/api/clusters/0?page={HUGE}", "page"),
        ("/api/clusters/0?page_size=0", "page_size"),
        (f"/api/me/picks?genre={'g' * 65}", "genre"),
    ],
)
def test_an_out_of_range_query_value_is_a_422_naming_the_parameter(as_alice, movies, url, param):
    assert param in _json_error(as_alice.get(url), 422)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        ('{"value": 0}', "application/json", 422, "value (Input should be greater than or equal to 0.5)"),
        ('{"value": 5.5}', "application/json", 422, "value"),
        ('{"value": 3.3}', "application/json", 422, "value"),
        ('{"value": "4"}', "application/json", 422, "value"),  # JSON numbers only (issue 15)
        ('{"value": "four"}', "application/json", 422, "value"),
        ('{"value": null}', "application/json", 422, "value"),
        ('{"value": 1e308}', "application/json", 422, "value"),
        ("{}", "application/json", 422, "value"),
        ("{not json", "application/json", 400, "not valid JSON: Expecting property name"),
        ('{"value": 4', "application/json", 400, "line 1 column"),
        ("", "application/json", 422, "body (Field required)"),
        ("[4]", "application/json", 422, "must be a JSON object, not a JSON list"),
        ('"4"', "application/json", 422, "must be a JSON object, not a JSON str"),
        ('{"value": 4}', "text/plain", 415, "application/json"),
        ("value=4", "application/x-www-form-urlencoded", 415, "application/json"),
        ('{"value": 4}', "application/xml", 415, "application/json"),
    ],
)
def test_a_bad_rating_body_is_a_4xx_naming_the_problem_and_saves_nothing(
    as_alice, alice, movies, body, content_type, status, words
):
    response = as_alice.put("/api/me/ratings/4", body, content_type=content_type)
    if status == 200:
        assert response.status_code == 200 and response.json()["value"] == 4.0
        return
    assert words in _json_error(response, status)
    assert not Rating.objects.filter(user=alice, movie_id=4).exists()


def test_an_unknown_path_under_the_api_is_a_json_404(as_alice, db):
    assert "/api/nothing-here" in _json_error(as_alice.get("/api/nothing-here"), 404)
    assert as_alice.get("/api/movies/").status_code == 404  # no slash-appending redirect either


def test_a_method_an_operation_does_not_take_is_a_json_405_naming_the_ones_it_does(as_alice, movies):
    response = as_alice.post("/api/me/ratings/4", {"value": 4}, content_type="application/json")
    assert "PUT" in _json_error(response, 405) and "DELETE" in response["Allow"]
    assert not Rating.objects.filter(movie_id=4).exists()
