"""Online metrics per version and experiment arm: what people did with the picks they were shown.

The unit is a (person, movie) pair of a version (and arm), counted on the day it was first shown
within the retention. Its outcome is what the person did with the movie within
RECOMMENDER_ONLINE_WINDOW_DAYS of that first showing: rated it (with its stars), put it on a
watchlist (when the site has one, RECOMMENDER_WATCHLIST_MODEL), dismissed it, or none of these
(ignored). A hit is rated or watchlisted. Each day's sums are kept in OnlineDay rows, recomputed
while the day's window is open; admin reads those rows and adds confidence intervals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from movies.models import Dismissal, Movie, Rating
from recommender.engine import online_stats
from recommender.models import Impression, OnlineDay
from recommender.services.impressions import PICK_SOURCES

Key = tuple[int, int, str]  # (version id, experiment id, arm)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _watchlist_times(users: set[int], since: datetime, until: datetime) -> dict[tuple[int, int], datetime]:
    """(user, movie) -> when it went to the watchlist, from RECOMMENDER_WATCHLIST_MODEL when the site has one."""
    spec = settings.RECOMMENDER_WATCHLIST_MODEL
    if not spec:
        return {}
    label, time_field = spec.rsplit(".", 1)
    model = apps.get_model(label)
    rows = model.objects.filter(
        user_id__in=users, **{f"{time_field}__gte": since, f"{time_field}__lt": until}
    ).values_list("user_id", "movie_id", time_field)
    return {(u, m): at for u, m, at in rows}


def online_day_compute(*, day: date) -> list[OnlineDay]:
    """Count the outcomes of the pairs first shown on `day` and store them as that day's OnlineDay rows.

    1. Pairs shown that day from the picks' sources, with their first showing, unless the same
       version and arm showed them earlier (they were counted that day).
    2. The ratings, dismissals and watchlist entries of those people from the day's start to the
       end of the last window.
    3. Per (version, experiment, arm): pairs, hits, stars, dismissals; distinct movies among
       everything shown that day.
    4. Replace the day's rows in one transaction.
    """
    start, end = _day_start(day), _day_start(day + timedelta(days=1))
    window = timedelta(days=settings.RECOMMENDER_ONLINE_WINDOW_DAYS)
    shown = Impression.objects.filter(
        shown_at__gte=start, shown_at__lt=end, user_id__isnull=False, source__in=PICK_SOURCES
    )
    earlier = Impression.objects.filter(
        user_id=OuterRef("user_id"),
        movie_id=OuterRef("movie_id"),
        version_id=OuterRef("version_id"),
        experiment_id=OuterRef("experiment_id"),
        arm=OuterRef("arm"),
        source__in=PICK_SOURCES,
        shown_at__lt=start,
    )
    pairs = list(
        shown.filter(~Exists(earlier))
        .values_list("version_id", "experiment_id", "arm", "user_id", "movie_id")
        .annotate(first=Min("shown_at"))
        .order_by()
    )
    users = {p[3] for p in pairs}
    until = end + window
    rated = {
        (u, m): (at, v)
        for u, m, at, v in Rating.objects.filter(
            user_id__in=users, rated_at__gte=start, rated_at__lt=until
        ).values_list("user_id", "movie_id", "rated_at", "value")
    }
    dismissed = dict(
        ((u, m), at)
        for u, m, at in Dismissal.objects.filter(
            user_id__in=users, created_at__gte=start, created_at__lt=until
        ).values_list("user_id", "movie_id", "created_at")
    )
    watchlisted = _watchlist_times(users, start, until)
    # The day's rows, summed as the pairs are counted; users and movies are set at the end.
    rows: dict[Key, OnlineDay] = {}
    users_of: dict[Key, set[int]] = defaultdict(set)
    for version_id, experiment_id, arm, user_id, movie_id, first in pairs:
        key = (version_id, experiment_id, arm)
        if key not in rows:
            rows[key] = OnlineDay(version_id=version_id, experiment_id=experiment_id, arm=arm, day=day)
        row = rows[key]
        row.shown += 1
        users_of[key].add(user_id)
        pair = (user_id, movie_id)
        rating = rated.get(pair)
        did_rate = rating is not None and first <= rating[0] < first + window
        at = watchlisted.get(pair)
        did_save = at is not None and first <= at < first + window
        at = dismissed.get(pair)
        did_dismiss = at is not None and first <= at < first + window
        if did_rate:
            row.rated += 1
            row.stars_sum += rating[1]  # type: ignore[index]
            row.stars_sq_sum += rating[1] ** 2  # type: ignore[index]
        row.watchlisted += did_save
        if did_rate or did_save:
            row.hits += 1
        elif did_dismiss:
            row.dismissed += 1
    movies: dict[Key, set[int]] = defaultdict(set)
    for version_id, experiment_id, arm, movie_id in shown.values_list(
        "version_id", "experiment_id", "arm", "movie_id"
    ).distinct():
        movies[(version_id, experiment_id, arm)].add(movie_id)
    for key, row in rows.items():
        row.users = len(users_of[key])
        row.movies = len(movies.get(key, ()))
    with transaction.atomic():
        OnlineDay.objects.filter(day=day).delete()
        return OnlineDay.objects.bulk_create(rows.values())


def online_metrics_refresh(*, now: datetime | None = None) -> int:
    """Recompute the days whose windows are still open, and any day of the retention not yet counted.

    Returns the number of days computed.
    """
    today = timezone.localdate(now or timezone.now())
    open_days = settings.RECOMMENDER_ONLINE_WINDOW_DAYS + 1
    first = today - timedelta(days=settings.RECOMMENDER_IMPRESSIONS_RETENTION_DAYS)
    counted = set(OnlineDay.objects.filter(day__gte=first).values_list("day", flat=True).distinct())
    days = 0
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        if day in counted and (today - day).days > open_days:
            continue
        if (
            day not in counted
            and not Impression.objects.filter(
                shown_at__gte=_day_start(day), shown_at__lt=_day_start(day + timedelta(days=1))
            ).exists()
        ):
            continue
        online_day_compute(day=day)
        days += 1
    return days


# --- Reading the figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One version's (or arm's) online figures over some days, with 95% intervals."""

    shown: int
    users: int
    hits: int
    rated: int
    dismissed: int
    watchlisted: int
    hit_rate: online_stats.Interval
    mean_stars: online_stats.Interval
    dismiss_rate: online_stats.Interval
    catalogue_share: float | None
    stars: tuple[float, float, int]  # (sum, sum of squares, n) for Welch's test

    @property
    def ignored(self) -> int:
        return self.shown - self.hits - self.dismissed


def figures_of(rows: Iterable[OnlineDay], *, catalogue: int, movies: int | None = None) -> Figures:
    """The figures of OnlineDay rows added together; `movies` is the distinct movies shown over
    them (a day's distinct movies do not add up), else the largest day's."""
    rows = list(rows)
    shown = sum(r.shown for r in rows)
    hits = sum(r.hits for r in rows)
    rated = sum(r.rated for r in rows)
    dismissed = sum(r.dismissed for r in rows)
    stars = (sum(r.stars_sum for r in rows), sum(r.stars_sq_sum for r in rows), rated)
    distinct = movies if movies is not None else max((r.movies for r in rows), default=0)
    return Figures(
        shown=shown,
        users=sum(r.users for r in rows),
        hits=hits,
        rated=rated,
        dismissed=dismissed,
        watchlisted=sum(r.watchlisted for r in rows),
        hit_rate=online_stats.proportion_interval(hits, shown),
        mean_stars=online_stats.mean_interval(*stars),
        dismiss_rate=online_stats.proportion_interval(dismissed, shown),
        catalogue_share=distinct / catalogue if catalogue else None,
        stars=stars,
    )


def _since(days: int | None) -> date:
    days = settings.RECOMMENDER_ONLINE_WINDOW_DAYS if days is None else days
    return timezone.localdate() - timedelta(days=days - 1)


def _distinct_movies(since: date, **where: object) -> int:
    return (
        Impression.objects.filter(shown_at__gte=_day_start(since), source__in=PICK_SOURCES, **where)
        .values("movie_id")
        .distinct()
        .count()
    )


def version_online(*, version_id: int, days: int | None = None) -> tuple[Figures, list[tuple[date, Figures]]]:
    """A version's figures over the last `days` days (default the window), in total and by day,
    across every arm that served it."""
    since = _since(days)
    rows = list(OnlineDay.objects.filter(version_id=version_id, day__gte=since))
    catalogue = Movie.objects.count()
    by_day: dict[date, list[OnlineDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    total = figures_of(rows, catalogue=catalogue, movies=_distinct_movies(since, version_id=version_id))
    return total, [(day, figures_of(by_day[day], catalogue=catalogue)) for day in sorted(by_day)]


@dataclass(frozen=True)
class ArmResults:
    control: Figures
    challenger: Figures
    control_days: list[tuple[date, Figures]]
    challenger_days: list[tuple[date, Figures]]
    hit_rate: online_stats.Comparison
    mean_stars: online_stats.Comparison
    dismiss_rate: online_stats.Comparison
    needed_per_arm: int | None  # shown pairs each arm needs to detect the minimum effect
    still_needed: int | None  # more shown pairs, in the smaller arm, before that
    min_effect: float


def experiment_results(*, experiment_id: int, min_effect: float = 0.2) -> ArmResults:
    """Both arms' figures since the experiment started, the differences with intervals and p-values,
    and how many more shown picks would detect a relative change of `min_effect` in the hit rate."""
    rows = list(OnlineDay.objects.filter(experiment_id=experiment_id))
    catalogue = Movie.objects.count()
    arms: dict[str, list[OnlineDay]] = {"control": [], "challenger": []}
    for row in rows:
        arms.setdefault(row.arm, []).append(row)

    def of(arm: str) -> tuple[Figures, list[tuple[date, Figures]]]:
        by_day: dict[date, list[OnlineDay]] = defaultdict(list)
        for row in arms[arm]:
            by_day[row.day].append(row)
        distinct = (
            Impression.objects.filter(experiment_id=experiment_id, arm=arm, source__in=PICK_SOURCES)
            .values("movie_id")
            .distinct()
            .count()
        )
        total = figures_of(arms[arm], catalogue=catalogue, movies=distinct)
        return total, [(d, figures_of(by_day[d], catalogue=catalogue)) for d in sorted(by_day)]

    (control, control_days), (challenger, challenger_days) = of("control"), of("challenger")
    base = control.hit_rate.value
    needed = online_stats.sample_size_per_arm(base, base * min_effect) if base else None
    return ArmResults(
        control=control,
        challenger=challenger,
        control_days=control_days,
        challenger_days=challenger_days,
        hit_rate=online_stats.two_proportions((control.hits, control.shown), (challenger.hits, challenger.shown)),
        mean_stars=online_stats.welch(control.stars, challenger.stars),
        dismiss_rate=online_stats.two_proportions(
            (control.dismissed, control.shown), (challenger.dismissed, challenger.shown)
        ),
        needed_per_arm=needed,
        still_needed=max(0, needed - min(control.shown, challenger.shown)) if needed is not None else None,
        min_effect=min_effect,
    )
