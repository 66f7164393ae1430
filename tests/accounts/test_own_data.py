"""A person's own data: the account page's counts, the ratings.csv download, and deleting the account."""

import csv
import io
from datetime import UTC, datetime

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from accounts.own_data import account_delete, ratings_csv
from accounts.tokens import api_token_create, api_token_user
from movies import services
from movies.importers import detect_layout, iter_ratings, open_source
from movies.models import Dismissal, GroupChoice, Movie, Rating, Skip, Tag, WatchlistEntry
from movies.totals import movie_totals_recount
from recommender import cache_keys
from recommender.models import Impression
from recommender.store import get_store
from tests.catalogue import PASSWORD, genres_create, movies_create, user_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limits_fresh")]


@pytest.fixture
def catalogue():
    return movies_create(genres_create())


@pytest.fixture
def dora(catalogue):
    """Ratings of four movies (one re-rated), marks of every kind, a group chosen at onboarding, a tag."""
    dora = user_create("dora")
    for movie_id, stars in [(1, 4.5), (2, 3.0), (3, 5.0), (4, 2.0), (2, 3.5)]:
        services.rating_create_or_update(user=dora, movie_id=movie_id, value=stars)
    services.movie_dismiss(user=dora, movie_id=5)
    services.movie_skip(user=dora, movie_id=5)
    services.watchlist_add(user=dora, movie_id=5)
    services.group_choice_set(user=dora, groups=[("Comedy", [2, 5], True)])
    Tag.objects.create(user=dora, movie_id=1, text="toys", tagged_at=datetime(2020, 1, 1, tzinfo=UTC))
    return dora


@pytest.fixture
def erin(catalogue):
    """Another person who rated some of the same movies: their ratings must stay counted."""
    erin = user_create("erin")
    for movie_id, stars in [(1, 4.5), (3, 1.0)]:
        services.rating_create_or_update(user=erin, movie_id=movie_id, value=stars)
    return erin


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_download_is_a_movielens_ratings_csv_that_the_importer_reads(dora, erin, tmp_path):
    Rating.objects.filter(user=dora, movie_id=1).update(rated_at=datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC))
    response = _client(dora).get("/accounts/me/ratings.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ratings.csv"'
    assert "no-store" in response["Cache-Control"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["userId", "movieId", "rating", "timestamp"]
    assert [row[:3] for row in rows[1:]] == [
        [str(dora.pk), "1", "4.5"],
        [str(dora.pk), "2", "3.5"],
        [str(dora.pk), "3", "5.0"],
        [str(dora.pk), "4", "2.0"],
    ]
    assert rows[1][3] == "1000000000"
    (tmp_path / "ratings.csv").write_text(text)
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n" + "".join(f"{n},M{n} (2000),Drama\n" for n in range(1, 6))
    )
    with open_source(tmp_path) as source:
        (chunk,) = iter_ratings(source, detect_layout(source), np.arange(1, 6))
    assert chunk.movie.tolist() == [1, 2, 3, 4] and chunk.value.tolist() == [4.5, 3.5, 5.0, 2.0]
    assert set(chunk.user.tolist()) == {dora.pk} and chunk.timestamp[0] == 1_000_000_000


def test_a_long_export_comes_in_chunks_and_nobody_else_s_ratings_are_in_it(dora, erin, monkeypatch):
    monkeypatch.setattr("accounts.own_data.EXPORT_CHUNK", 2)
    chunks = list(ratings_csv(user=dora))
    assert len(chunks) >= 3 and sum(chunk.count("\n") for chunk in chunks) == 5
    assert f"\n{erin.pk}," not in "".join(chunks)


def test_the_download_and_the_account_page_need_a_login(client):
    for url in ["/accounts/me/", "/accounts/me/ratings.csv", "/accounts/me/delete/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_account_page_shows_the_counts(dora):
    api_token_create(user=dora, name="script")
    response = _client(dora).get("/accounts/me/")
    counts = response.context["counts"]
    assert (counts.ratings, counts.watchlist, counts.dismissals, counts.skips, counts.tags, counts.api_tokens) == (
        4,
        1,
        1,
        1,
        1,
        1,
    )
    assert counts.groups == 1
    assert b'href="/accounts/me/ratings.csv"' in response.content and b'href="/accounts/me/delete/"' in response.content
    assert "no-store" in response["Cache-Control"]


def test_deleting_removes_everything_and_keeps_the_other_ratings_counted(dora, erin, lists_on_redis):
    secret = api_token_create(user=dora, name="script").secret
    assert api_token_user(secret=secret) == dora
    Impression.objects.create(
        user_id=dora.pk, movie_id=5, source="home", version_id=1, position=0, shown_at=datetime.now(UTC)
    )
    store = get_store()
    for version in (1, 2):
        store.put(version, dora.pk, np.array([5, 4]))
        store.put(version, erin.pk, np.array([2]))
    cache.set(cache_keys.personal_section("home", dora.pk), "<p>picks</p>")
    dora_id = dora.pk

    counts = account_delete(user=dora)

    assert counts.ratings == 4 and counts.api_tokens == 1
    assert not User.objects.filter(pk=dora_id).exists()
    for model in (Rating, Dismissal, Skip, GroupChoice, WatchlistEntry, Tag):
        assert not model.objects.filter(user_id=dora_id).exists()
    assert not Impression.objects.filter(user_id=dora_id).exists()
    assert api_token_user(secret=secret) is None
    # The totals hold erin's ratings alone, exactly as a recount finds them.
    assert movie_totals_recount() == []
    toy_story, heat, jumanji = (Movie.objects.get(pk=pk) for pk in (1, 3, 2))
    assert (toy_story.ratings_count, toy_story.ratings_sum, toy_story.ratings_mean) == (1, 4.5, 4.5)
    assert (heat.ratings_count, heat.ratings_mean) == (1, 1.0)
    assert (jumanji.ratings_count, jumanji.ratings_mean) == (0, None)
    for version in (1, 2):
        assert store.get(dora_id, version=version) is None
        assert store.get(erin.pk, version=version)[1].tolist() == [2]
    assert cache.get(cache_keys.personal_section("home", dora_id)) is None


def test_the_delete_page_asks_for_the_password_then_deletes_and_logs_out(dora):
    client = _client(dora)
    page = client.get("/accounts/me/delete/")
    assert page.status_code == 200 and b"4 ratings" in page.content
    wrong = client.post("/accounts/me/delete/", {"password": "not-it"})
    assert wrong.status_code == 422 and b"That is not your password" in wrong.content
    assert User.objects.filter(pk=dora.pk).exists()
    done = client.post("/accounts/me/delete/", {"password": PASSWORD}, follow=True)
    assert done.redirect_chain == [("/", 302)]
    assert b"Your account is deleted" in done.content and b"Log in" in done.content
    assert not User.objects.filter(username="dora").exists()
    assert client.get("/accounts/me/").status_code == 302


def test_wrong_passwords_on_the_delete_page_count_as_failed_logins(dora, settings):
    settings.LOGIN_LIMIT_PER_ACCOUNT = 3
    client = _client(dora)
    statuses = [client.post("/accounts/me/delete/", {"password": f"guess-{n}"}).status_code for n in range(4)]
    assert statuses == [422, 422, 422, 429]
    refused = client.post("/accounts/me/delete/", {"password": PASSWORD})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert User.objects.filter(pk=dora.pk).exists()


def test_deleting_forgets_the_person_s_entries_in_the_shared_cache(dora, erin, redis_cache):
    mine = [
        cache_keys.api_picks(user_id=dora.pk, n=10, genre=None),
        cache_keys.api_picks(user_id=dora.pk, n=20, genre="Drama"),
        cache_keys.user_side(dora.pk),
        cache_keys.personal_section("home", dora.pk),
    ]
    theirs = [cache_keys.api_picks(user_id=erin.pk, n=10, genre=None), cache_keys.user_side(erin.pk)]
    for key in mine + theirs:
        redis_cache.set(key, b"cached", 300)
    account_delete(user=dora)
    assert redis_cache.get_many(mine) == {}
    assert set(redis_cache.get_many(theirs)) == set(theirs)
