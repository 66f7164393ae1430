"""Simulated site users for the proof runs: one thread, one account and one session each.

A user signs up through the site's form, then until told to stop: opens the home
page (their picks), searches, opens a movie page, rates it through the site's POST
(with the CSRF token, as the browser sends it), and reads their picks from the API.
Between actions they pause as a person would. Every request is recorded with its
start time, so a run can compare latency before, during and after an event.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass

import requests

SEARCH_WORDS = ["star", "love", "man", "war", "day", "king", "dark", "life", "night", "story", "toy", "matrix"]
TIMEOUT = 30  # seconds: a request slower than this counts as a failure


@dataclass
class Hit:
    action: str
    started: float  # time.monotonic() at the start
    seconds: float
    ok: bool
    detail: str = ""


class Recorder:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def add(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def between(self, start: float, stop: float) -> list[Hit]:
        return [h for h in self.hits if start <= h.started < stop]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(hits: list[Hit], seconds: float) -> str:
    """A table: requests/s, p50/p99 and failures per action, then all actions together."""
    lines = [f"{'action':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'failures':>9}"]
    actions = sorted({h.action for h in hits})
    for action in [*actions, "all"]:
        group = hits if action == "all" else [h for h in hits if h.action == action]
        ms = [h.seconds * 1000 for h in group]
        failed = sum(not h.ok for h in group)
        lines.append(
            f"{action:<16}{len(group):>9}{len(group) / seconds:>8.1f}{_pct(ms, 0.5):>9.0f}{_pct(ms, 0.99):>9.0f}"
            f"{failed:>9}"
        )
    return "\n".join(lines)


def failures(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if not h.ok]


def median_ms(hits: list[Hit]) -> float:
    return statistics.median(h.seconds * 1000 for h in hits) if hits else float("nan")


class SiteUser(threading.Thread):
    def __init__(
        self, base: str, name: str, movies: list[int], recorder: Recorder, stop: threading.Event, seed: int
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.base = base
        self.username = name
        self.movies = movies
        self.recorder = recorder
        self.stop = stop
        self.random = random.Random(seed)
        self.session = requests.Session()

    def _request(self, action: str, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs) -> bool:
        started = time.monotonic()
        try:
            response = self.session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            ok = response.status_code in expect
            detail = "" if ok else f"{method} {path}: {response.status_code}"
        except requests.RequestException as exc:
            ok, detail = False, f"{method} {path}: {type(exc).__name__}"
        self.recorder.add(Hit(action, started, time.monotonic() - started, ok, detail))
        return ok

    def _csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def sign_up(self) -> bool:
        if not self._request("signup form", "GET", "/accounts/signup/"):
            return False
        password = f"Qx7!{self.random.random():.12f}vL#"
        data = {"csrfmiddlewaretoken": self._csrf(), "username": self.username, "password1": password}
        data["password2"] = password
        # The site redirects to the home page after signing up (requests follows it); a form
        # with errors answers 200 on the same page, so a signed-up user is one with a session.
        ok = self._request("sign up", "POST", "/accounts/signup/", data=data, headers=self._referer())
        if ok and set(self.session.cookies.keys()) <= {"csrftoken"}:
            self.recorder.add(Hit("sign up", time.monotonic(), 0.0, False, "sign up: no session (form refused)"))
            return False
        return ok

    def _referer(self) -> dict[str, str]:
        return {"Referer": self.base + "/"}

    def pause(self) -> None:
        self.stop.wait(self.random.uniform(0.25, 0.75))

    def run(self) -> None:
        if not self.sign_up():
            return
        while not self.stop.is_set():
            movie = self.random.choice(self.movies)
            word = self.random.choice(SEARCH_WORDS)
            steps = [
                ("home (picks)", "GET", "/"),
                ("search", "GET", f"/movies/?q={word}"),
                ("movie page", "GET", f"/movies/{movie}/"),
                ("rate", "POST", f"/movies/{movie}/rating/"),
                ("api picks", "GET", "/api/me/picks?n=10"),
            ]
            for action, method, path in steps:
                if self.stop.is_set():
                    return
                if method == "POST":
                    # The site's rating form: the CSRF token from the cookie, as the page's form carries it.
                    data = {"csrfmiddlewaretoken": self._csrf(), "value": self.random.choice("12345")}
                    self._request(action, method, path, data=data, headers=self._referer())
                else:
                    self._request(action, method, path)
                self.pause()


def run_users(base: str, movies: list[int], n: int, prefix: str, recorder: Recorder) -> tuple[threading.Event, list]:
    """Start n users (named prefix-0, prefix-1, ...); set the returned event to stop them."""
    stop = threading.Event()
    users = [SiteUser(base, f"{prefix}-{i}", movies, recorder, stop, seed=i) for i in range(n)]
    for user in users:
        user.start()
        time.sleep(0.02)  # do not sign everyone up in the same millisecond
    return stop, users
