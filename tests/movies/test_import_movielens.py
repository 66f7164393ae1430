"""manage.py import_movielens: every layout, idempotence, updates, bad input, downloads, a kill."""

import hashlib
import http.server
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from movies.catalogue_generation import catalogue_generation
from movies.models import Genre, Movie, MovieLensAccount, Rating, Tag
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "movielens"


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_movielens", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def snapshot() -> dict:
    """Everything the import writes, to compare before and after."""
    return {
        "ratings": sorted(Rating.objects.values_list("user__username", "movie_id", "value", "rated_at")),
        "movies": sorted(
            Movie.objects.values_list("id", "title", "year", "imdb_id", "tmdb_id", "ratings_count", "ratings_mean")
        ),
        "genres": sorted(Movie.genres.through.objects.values_list("movie_id", "genre__name")),
        "tags": sorted(Tag.objects.values_list("user__username", "movie_id", "text", "tagged_at")),
        "users": sorted(User.objects.values_list("username", flat=True)),
        "accounts": MovieLensAccount.objects.count(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("folder", "ratings", "movies", "tags", "users"),
    [("csv", 7, 5, 3, 4), ("dat-1m", 4, 3, 0, 2), ("dat-10m", 5, 3, 2, 4), ("100k", 4, 4, 0, 3)],
)
def test_it_imports_every_layout(folder, ratings, movies, tags, users):
    out = run(str(FIXTURES / folder))
    assert f"imported {ratings:,} ratings, {movies} movies, {tags} tags, {users} users from {folder}" in out
    assert (Rating.objects.count(), Movie.objects.count(), Tag.objects.count()) == (ratings, movies, tags)
    assert MovieLensAccount.objects.count() == users
    user = User.objects.get(movielens__movielens_id=MovieLensAccount.objects.first().movielens_id)
    assert user.username.startswith("movielens-")
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_it_stores_titles_years_genres_links_and_stats():
    run(str(FIXTURES / "csv"))
    toy = Movie.objects.get(pk=1)
    assert (toy.title, toy.year, toy.imdb_id, toy.tmdb_id) == ("Toy Story", 1995, "0114709", 862)
    assert sorted(toy.genres.values_list("name", flat=True)) == [
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Fantasy",
    ]
    assert (toy.ratings_count, toy.ratings_mean) == (2, 2.25)
    assert Movie.objects.get(pk=4).genres.count() == 0
    assert Movie.objects.get(pk=3).title == "Babylon 5"
    rating = Rating.objects.get(user__username="movielens-1", movie_id=1)
    assert (rating.value, rating.rated_at.isoformat()) == (4.0, "2000-07-30T18:45:03+00:00")


@pytest.mark.django_db
def test_it_imports_ml_latest_small_on_postgres_with_exact_counts_and_twice_changes_nothing(ml_latest_small, postgres):
    out = run(str(ml_latest_small))
    assert "imported 100,836 ratings, 9,742 movies, 3,683 tags, 610 users from ml-latest-small" in out
    assert Rating.objects.count() == 100_836
    assert MovieLensAccount.objects.count() == User.objects.filter(username__startswith="movielens-").count() == 610
    assert Movie.objects.count() == 9_742
    assert Tag.objects.count() == 3_683
    assert Movie.objects.exclude(imdb_id="").count() == 9_742
    assert Movie.objects.get(pk=1).ratings_count == 215
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'movies_rating' ORDER BY 1")
        indexes = [row[0] for row in cursor.fetchall()]
    assert "rating_one_per_user_and_movie" in indexes and "rating_movie_idx" in indexes
    before = snapshot()

    out = run(str(ml_latest_small))
    assert "new: 0 ratings, 0 movies, 0 tags, 0 users; updated: 0 ratings, 0 movies" in out
    assert snapshot() == before


@pytest.mark.django_db
def test_it_updates_what_a_newer_file_changed(tmp_path):
    run(str(FIXTURES / "csv"))
    folder = copy_fixture("csv", tmp_path)
    ratings = folder / "ratings.csv"
    ratings.write_text(ratings.read_text().replace("1,1,4.0,964982703", "1,1,2.5,964990000") + "3,1,5.0,1306463700\n")
    movies = folder / "movies.csv"
    movies.write_text(movies.read_text().replace("Hyena Road,(no genres listed)", "Hyena Road (2015),War|Drama"))
    links = folder / "links.csv"
    links.write_text(links.read_text().replace("3,0105946,", "3,0105946,3000"))

    out = run(str(folder))

    assert "new: 1 ratings, 0 movies, 0 tags, 0 users; updated: 1 ratings, 2 movies" in out
    rating = Rating.objects.get(user__username="movielens-1", movie_id=1)
    assert (rating.value, int(rating.rated_at.timestamp())) == (2.5, 964990000)
    hyena = Movie.objects.get(pk=4)
    assert (hyena.title, hyena.year) == ("Hyena Road", 2015)
    assert sorted(hyena.genres.values_list("name", flat=True)) == ["Drama", "War"]
    assert Movie.objects.get(pk=3).tmdb_id == 3000
    assert (Movie.objects.get(pk=1).ratings_count, Movie.objects.get(pk=1).ratings_mean) == (3, 2.6667)


@pytest.mark.django_db
def test_an_import_tells_the_cached_sections_that_movies_changed(tmp_path):
    """The importer writes rows in bulk, past the signals: it moves the catalogue generation itself,
    so a section kept rendered shows the new titles and totals at its next refresh."""
    run(str(FIXTURES / "csv"))
    before = catalogue_generation()
    run(str(FIXTURES / "csv"), "--dry-run")
    assert catalogue_generation() == before, "a dry run writes nothing"
    run(str(FIXTURES / "csv"))
    assert catalogue_generation() != before


BAD = {
    "malformed line": ("ratings.csv", "4,1,4.0,964982703,extra\n", "ratings.csv line 9: expected 4 fields, found 5"),
    "unknown movie in ratings": ("ratings.csv", "4,99,4.0,964982703\n", "ratings.csv line 9: unknown movie id: '99'"),
    "rating out of range": (
        "ratings.csv",
        "4,1,7.0,964982703\n",
        "ratings.csv line 9: rating is not 0.5 to 5.0 in half stars: '7.0'",
    ),
    "unknown movie in tags": ("tags.csv", "4,77,scary,1445715000\n", "tags.csv line 5: unknown movie id: '77'"),
    "undecodable": ("movies.csv", b"6,Caf\xe9 (1999),Drama\n", "movies.csv line 7: not valid utf-8 text"),
    "repeated pair": (
        "ratings.csv",
        "1,2,1.0,964999999\n",
        "ratings.csv line 9: a second rating of the same movie by the same user (first on line 3)",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("first_import", [True, False], ids=["into-empty", "over-existing"])
def test_it_fails_on_bad_input_and_leaves_the_database_as_it_was(case, first_import, tmp_path):
    if not first_import:
        run(str(FIXTURES / "dat-10m"))  # something already there, in the same tables
    before = snapshot()
    file, data, message = BAD[case]
    folder = copy_fixture("csv", tmp_path)
    path = folder / file
    path.write_bytes(path.read_bytes() + (data if isinstance(data, bytes) else data.encode()))

    with pytest.raises(CommandError) as error:
        run(str(folder))

    assert message in str(error.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_it_exits_non_zero_on_bad_input(tmp_path, postgres):
    folder = copy_fixture("csv", tmp_path)
    (folder / "ratings.csv").write_text((folder / "ratings.csv").read_text() + "4,1,7.0,964982703\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": _database_url()}
    done = subprocess.run(
        [sys.executable, "manage.py", "import_movielens", str(folder), "--dry-run", "--no-progress"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "ratings.csv line 9: rating is not 0.5 to 5.0 in half stars: '7.0'" in done.stderr


@pytest.mark.django_db
def test_it_skips_bad_rows_when_asked_and_lists_them(tmp_path):
    folder = copy_fixture("csv", tmp_path)
    ratings = folder / "ratings.csv"
    ratings.write_text(
        ratings.read_text() + "4,1,7.0,964982703\n4,99,4.0,964982703\nbroken\n1,2,1.0,964999999\n4,2,4,1\n9,99,4.0,1\n"
    )

    out = run(str(folder), "--skip-bad-rows")

    assert "5 bad rows skipped:" in out
    assert "ratings.csv line 9: rating is not 0.5 to 5.0 in half stars: '7.0'" in out
    assert "ratings.csv line 10: unknown movie id: '99'" in out
    assert "ratings.csv line 11: expected 4 fields, found 1: 'broken'" in out
    assert "ratings.csv line 12: a second rating of the same movie by the same user (first on line 3)" in out
    assert "ratings.csv line 14: unknown movie id: '99'" in out
    assert "imported 8 ratings" in out and "skipped 5 bad rows" in out
    assert Rating.objects.count() == 8
    assert not User.objects.filter(username="movielens-9").exists()  # only bad lines: no account
    assert Rating.objects.get(user__username="movielens-1", movie_id=2).value == 3.5  # the first one stays


@pytest.mark.django_db
def test_it_validates_everything_and_writes_nothing_on_dry_run(tmp_path):
    out = run(str(FIXTURES / "csv"), "--dry-run")
    assert "validated (dry run, nothing written) 7 ratings, 5 movies, 3 tags, 4 users from csv" in out
    assert (Rating.objects.count(), Movie.objects.count(), User.objects.count(), Genre.objects.count()) == (0, 0, 0, 0)
    folder = copy_fixture("csv", tmp_path)
    (folder / "tags.csv").write_text((folder / "tags.csv").read_text() + "4,77,scary,1445715000\n")
    with pytest.raises(CommandError, match=r"tags\.csv line 5: unknown movie id"):
        run(str(folder), "--dry-run")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("ml/../evil.csv", "points outside the archive"),
        ("/tmp/evil.csv", "has an absolute path"),
        ("ml/bomb.csv", "likely zip bomb"),
    ],
)
def test_it_refuses_unsafe_zips_and_writes_nothing(tmp_path, member, message):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in (FIXTURES / "csv").iterdir():
            archive.write(source, f"ml/{source.name}")
        archive.writestr(member, b"\0" * (20 * 1024 * 1024) if "bomb" in member else b"x")
    with pytest.raises(CommandError, match=message):
        run(str(path))
    assert Movie.objects.count() == 0


# --- Download against a local HTTP server ----------------------------------------------------------


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local http.server serving ml-latest-small.zip (the csv fixture) and its .md5."""
    root = tmp_path / "mirror"
    root.mkdir()
    zip_path = root / "ml-latest-small.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in sorted((FIXTURES / "csv").iterdir()):
            archive.write(source, f"ml-latest-small/{source.name}")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MOVIELENS_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    yield root
    server.shutdown()
    thread.join()


@pytest.mark.django_db
def test_it_downloads_checks_the_md5_and_imports(mirror, tmp_path):
    digest = hashlib.md5((mirror / "ml-latest-small.zip").read_bytes()).hexdigest()
    (mirror / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {digest}\n")
    out = run("--download", "ml-latest-small", "--dest", str(tmp_path / "dl"))
    assert "imported 7 ratings, 5 movies, 3 tags, 4 users from ml-latest-small" in out
    assert (tmp_path / "dl" / "ml-latest-small.zip").exists()


@pytest.mark.django_db
def test_it_refuses_a_download_with_a_bad_checksum(mirror, tmp_path):
    (mirror / "ml-latest-small.zip.md5").write_text("0123456789abcdef0123456789abcdef  ml-latest-small.zip\n")
    with pytest.raises(CommandError, match="checksum mismatch"):
        run("--download", "ml-latest-small", "--dest", str(tmp_path / "dl"))
    assert not list((tmp_path / "dl").iterdir())
    assert Movie.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_download_that_is_not_a_zip(mirror, tmp_path):
    (mirror / "ml-latest-small.zip").write_bytes(b"<html>not found</html>")  # no .md5: only the zip check
    with pytest.raises(CommandError, match="not a valid zip"):
        run("--download", "ml-latest-small", "--dest", str(tmp_path / "dl"))
    assert Movie.objects.count() == 0


# --- Processes: a killed import on PostgreSQL, SQLite end to end -----------------------------------


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory) -> Path:
    from movies.synthetic import write_movielens

    folder = tmp_path_factory.mktemp("synthetic") / "ml-synthetic"
    write_movielens(folder, scale=0.03, seed=3)
    return folder


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_it_can_rerun_an_import_killed_midway_without_duplicates(postgres, synthetic_folder):
    expected = sum(1 for _ in (synthetic_folder / "ratings.csv").open()) - 1
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": _database_url()}
    command = [sys.executable, "manage.py", "import_movielens", str(synthetic_folder)]
    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    # Killed when every rating has gone into the COPY and the keys are being rebuilt:
    # the most work a crash can throw away.
    seen = b""
    while b"rebuilding keys and indexes" not in seen:
        data = process.stderr.read1(4096)
        assert data, seen.decode(errors="replace")
        seen += data
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert Rating.objects.count() == 0  # waits for PostgreSQL to roll the dead transaction back

    done = subprocess.run([*command, "--no-progress"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Rating.objects.count() == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT DISTINCT user_id, movie_id FROM movies_rating) d")
        assert cursor.fetchone()[0] == expected
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'movies_rating'")
        indexes = {row[0] for row in cursor.fetchall()}
        assert {"movies_rating_pkey", "rating_movie_idx", "rating_one_per_user_and_movie"} <= indexes


def test_it_imports_on_sqlite_and_twice_changes_nothing(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "-v0")
    first = manage("import_movielens", str(FIXTURES / "csv"), "--no-progress")
    assert "new: 7 ratings, 5 movies, 3 tags, 4 users" in first
    second = manage("import_movielens", str(FIXTURES / "csv"), "--no-progress")
    assert "new: 0 ratings, 0 movies, 0 tags, 0 users; updated: 0 ratings, 0 movies" in second
    folder = copy_fixture("csv", tmp_path)
    (folder / "ratings.csv").write_text(
        (folder / "ratings.csv").read_text().replace("1,1,4.0,964982703", "1,1,2.5,964990000")
    )
    third = manage("import_movielens", str(folder), "--no-progress")
    assert "new: 0 ratings, 0 movies, 0 tags, 0 users; updated: 1 ratings, 0 movies" in third
