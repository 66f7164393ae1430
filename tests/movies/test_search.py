"""Finding movies: titles as people write them, a search that ignores the leading article and
tolerates typos, and the type-ahead under the search box."""

import sqlite3
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from movies import selectors
from movies.apps import _sqlite_functions
from movies.models import Movie
from movies.titles import natural_title, search_text, word_similarity

pytestmark = pytest.mark.django_db

# As MovieLens stores them, with rating counts that make the most known one first.
TITLES = [
    (1, "Matrix, The", 1999, 278),
    (2, "Matrix Reloaded, The", 2003, 120),
    (3, "Godfather, The", 1972, 192),
    (4, "Godfather: Part II, The", 1974, 129),
    (5, "Star Wars: Episode IV - A New Hope", 1977, 251),
    (6, "Star Wars: Episode V - The Empire Strikes Back", 1980, 211),
    (7, "Mask, The", 1994, 157),
    (8, "Amelie (Fabuleux destin d'Amélie Poulain, Le)", 2001, 120),
    (9, "Auberge espagnole, L'", 2002, 30),
]


@pytest.fixture
def catalogue(db) -> None:
    for pk, title, year, count in TITLES:
        Movie.objects.create(id=pk, title=title, year=year, ratings_count=count, ratings_mean=4.0)


def _found(query: str) -> list[str]:
    return [str(m) for m in selectors.movie_search(query=query, sort="relevance")]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Matrix, The", "The Matrix"),
        ("Auberge espagnole, L'", "L'Auberge espagnole"),
        ("Amelie (Fabuleux destin d'Amélie Poulain, Le)", "Amelie (Le Fabuleux destin d'Amélie Poulain)"),
        ("City of Lost Children, The (Cité des enfants, La)", "The City of Lost Children (La Cité des enfants)"),
        ("Good, the Bad and the Ugly, The", "The Good, the Bad and the Ugly"),
        ("I, Robot", "I, Robot"),
        ("Star Wars: Episode IV - A New Hope", "Star Wars: Episode IV - A New Hope"),
    ],
)
def test_a_title_reads_as_people_write_it(stored, shown):
    assert natural_title(stored) == shown


def test_the_matrix_finds_the_matrix_first(catalogue):
    assert _found("the matrix")[:2] == ["The Matrix (1999)", "The Matrix Reloaded (2003)"]


def test_the_godfather_finds_the_godfather_first(catalogue):
    assert _found("the godfather")[:2] == ["The Godfather (1972)", "The Godfather: Part II (1974)"]


def test_star_wars_episode_iv_finds_a_new_hope_first(catalogue):
    assert _found("star wars episode iv")[0] == "Star Wars: Episode IV - A New Hope (1977)"


def test_a_typo_still_finds_the_movie(catalogue):
    assert _found("godfathr")[0] == "The Godfather (1972)"
    assert _found("the matrx")[0] == "The Matrix (1999)"


def test_a_search_does_not_match_unrelated_titles(catalogue):
    assert "The Mask (1994)" not in _found("the matrix")
    assert _found("zzzz qqqq") == []


def test_the_browse_page_and_the_api_search_the_same_way(client, catalogue):
    page = client.get(reverse("movies:list"), {"q": "the godfather"})
    assert [str(m) for m in page.context["page"]][:1] == ["The Godfather (1972)"]
    assert "The Godfather" in page.content.decode()
    api = client.get("/api/movies", {"q": "the matrix"}).json()
    assert [m["title"] for m in api["results"]][:1] == ["The Matrix"]


def test_the_type_ahead_suggests_titles_as_people_write_them(client, catalogue):
    response = client.get(reverse("movies:suggest"), {"q": "godfathr"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The Godfather" in html and Movie.objects.get(pk=3).get_absolute_url() in html
    assert "All results" in html
    assert client.get(reverse("movies:suggest"), {"q": "g"}).content.decode().strip() == ""


def test_the_sqlite_fallback_agrees_with_pg_trgm(catalogue):
    """Python's word_similarity decides as PostgreSQL's does at the search's threshold."""
    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL's pg_trgm")
    queries = ["matrix", "godfathr", "star wars episode iv", "amelie", "mask", "matrx", "matirx", "espagnole"]
    with connection.cursor() as cursor:
        for query in queries:
            for _, title, _, _ in TITLES:
                cursor.execute("SELECT word_similarity(%s, %s)", [query, title])
                theirs = cursor.fetchone()[0]
                ours = word_similarity(query, title)
                assert (ours >= selectors.TITLE_MATCH_THRESHOLD) == (theirs >= selectors.TITLE_MATCH_THRESHOLD), (
                    query,
                    title,
                    ours,
                    theirs,
                )


def test_sqlite_gets_the_word_similarity_function():
    raw = sqlite3.connect(":memory:")
    _sqlite_functions(sender=None, connection=SimpleNamespace(vendor="sqlite", connection=raw))
    (value,) = raw.execute("SELECT WORD_SIMILARITY(?, ?)", [search_text("The Godfathr"), "Godfather, The"]).fetchone()
    assert value == pytest.approx(7 / 9)
