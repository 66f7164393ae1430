"""Posters and plots from TMDb: fetched with a key from recorded answers (a local server, no
network), cached, throttled and resumable; without a key nothing is fetched and pages still work."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from movies.models import TmdbDetails

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).parent / "tmdb_recorded"
KEY = "test-key"


class _RecordedTmdb(BaseHTTPRequestHandler):
    """Answers GET /3/movie/<id>?api_key=... from the recorded files, as TMDb does."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        path, _, query = self.path.partition("?")
        if f"api_key={KEY}" not in query:
            self._send(401, {"status_code": 7, "status_message": "Invalid API key"})
            return
        recorded = RECORDED / f"{path.rsplit('/', 1)[-1]}.json"
        if not recorded.exists():
            self._send(404, {"status_code": 34, "status_message": "The resource you requested could not be found."})
            return
        self._send(200, json.loads(recorded.read_text("utf-8")))

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tmdb(settings, tmp_path) -> Iterator[list[str]]:
    """A local stand-in for api.themoviedb.org serving the recorded answers; yields the paths asked."""
    hits: list[str] = []
    handler = type("Handler", (_RecordedTmdb,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TMDB_API_URL = f"http://127.0.0.1:{server.server_port}/3"
    settings.TMDB_API_KEY = KEY
    settings.TMDB_CACHE_DIR = tmp_path / "tmdb"
    settings.TMDB_REQUESTS_PER_SECOND = 50
    yield hits
    server.shutdown()
    server.server_close()


def _fetch(**options: object) -> str:
    out = StringIO()
    call_command("fetch_tmdb", no_progress=True, stdout=out, **options)
    return out.getvalue()


def test_without_a_key_nothing_is_fetched_and_pages_still_work(client, movies, settings):
    settings.TMDB_API_KEY = ""
    assert "TMDB_API_KEY is not set: nothing fetched" in _fetch()
    assert not TmdbDetails.objects.exists()
    response = client.get(reverse("movies:detail", args=[movies["The Matrix"].pk]))
    assert response.status_code == 200
    assert b'class="poster"' not in response.content


def test_it_stores_plots_and_posters_and_the_page_shows_them(client, movies, tmdb):
    summary = _fetch()
    assert "TMDb details of 5 movies (5 fetched, 0 from the cache, 3 unknown to TMDb, 0 failed" in summary
    matrix = TmdbDetails.objects.get(movie=movies["The Matrix"])
    assert matrix.plot.startswith("Set in the 22nd century")
    assert matrix.poster_url == "https://image.tmdb.org/t/p/w342/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg"
    assert TmdbDetails.objects.get(movie=movies["Heat"]).plot == ""  # unknown to TMDb: stored as done
    html = client.get(reverse("movies:detail", args=[movies["The Matrix"].pk])).content.decode()
    assert matrix.poster_url in html and "Set in the 22nd century" in html


def test_a_second_run_asks_tmdb_nothing_and_a_lost_database_row_comes_from_the_cache(movies, tmdb):
    _fetch()
    asked = len(tmdb)
    assert "0 fetched" in _fetch() and len(tmdb) == asked  # every movie done: nothing to do
    TmdbDetails.objects.filter(movie=movies["Toy Story"]).delete()
    assert "(0 fetched, 1 from the cache" in _fetch()
    assert len(tmdb) == asked


def test_a_stopped_run_resumes_where_it_stopped(movies, tmdb):
    assert "(2 fetched" in _fetch(limit=2)
    assert TmdbDetails.objects.count() == 2
    assert "(3 fetched" in _fetch()
    assert TmdbDetails.objects.count() == 5
    assert len(tmdb) == 5  # each movie asked once over both runs


def test_requests_are_throttled(movies, tmdb, settings):
    settings.TMDB_REQUESTS_PER_SECOND = 10
    import time

    started = time.monotonic()
    _fetch()
    assert time.monotonic() - started >= 0.4  # 5 requests at most 10 a second: 4 gaps of 0.1 s


def test_a_wrong_key_stops_with_a_clear_error(movies, tmdb, settings):
    from django.core.management.base import CommandError

    settings.TMDB_API_KEY = "wrong"
    with pytest.raises(CommandError, match="TMDb refused the API key"):
        _fetch()
    assert not TmdbDetails.objects.exists()
