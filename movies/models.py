"""The catalogue (movies, genres, links) and what people do with it (ratings, tags).

Movie ids are MovieLens movie ids, so an import is idempotent and links to
other data sets stay valid. MovieLens users become Django users that cannot
log in, found again through MovieLensAccount.
"""

from functools import lru_cache

from django.conf import settings
from django.db import models
from django.urls import get_script_prefix, get_urlconf, reverse

from movies.titles import natural_title

# Half stars from 0.5 to 5.0: exact in binary floating point, so an IN check is exact.
RATING_VALUES = tuple(v / 2 for v in range(1, 11))


def movie_url(movie_id: int) -> str:
    """A movie page's path (Movie.get_absolute_url), remembered: a picks call or a home page links
    dozens of movies, and reverse() for each would be a noticeable part of it."""
    return _movie_url(movie_id, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=100_000)
def _movie_url(movie_id: int, prefix: str, urlconf: str | None) -> str:
    # Keyed by the script prefix and URLconf too, which are what reverse() reads besides the id.
    return reverse("movies:detail", args=[movie_id], urlconf=urlconf)


class Genre(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Movie(models.Model):
    id = models.IntegerField(primary_key=True, help_text="The MovieLens movie id.")
    title = models.CharField(max_length=512, help_text="Title without the year.")
    year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    imdb_id = models.CharField(max_length=16, blank=True, help_text="IMDb id without the 'tt' prefix.")
    tmdb_id = models.PositiveIntegerField(null=True, blank=True)
    # Kept up to date by the import and by each rating write (movies.totals), so lists sort without aggregating.
    ratings_count = models.PositiveIntegerField(default=0, db_index=True)
    ratings_sum = models.FloatField(default=0, help_text="The stars of all its ratings added up.")
    ratings_mean = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.display_title} ({self.year})" if self.year else self.display_title

    def get_absolute_url(self) -> str:
        return movie_url(self.pk)

    @property
    def display_title(self) -> str:
        """The title as people write it: "The Matrix" for MovieLens' "Matrix, The"."""
        return natural_title(self.title)

    @property
    def imdb_url(self) -> str:
        return f"https://www.imdb.com/title/tt{self.imdb_id}/" if self.imdb_id else ""

    @property
    def tmdb_url(self) -> str:
        return f"https://www.themoviedb.org/movie/{self.tmdb_id}" if self.tmdb_id else ""


class MovieLensAccount(models.Model):
    """Ties an imported MovieLens user id to the Django user that holds its ratings."""

    movielens_id = models.IntegerField(unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="movielens")

    def __str__(self) -> str:
        return f"MovieLens user {self.movielens_id}"


class Rating(models.Model):
    # No per-column FK indexes: the unique (user, movie) constraint serves lookups by user and
    # rating_movie_idx those by movie; two redundant indexes would slow every write and the bulk import.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings", db_index=False)
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="ratings", db_index=False)
    value = models.FloatField(help_text="0.5 to 5.0 in half stars.")
    rated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "movie"], name="rating_one_per_user_and_movie"),
            models.CheckConstraint(condition=models.Q(value__in=RATING_VALUES), name="rating_value_half_stars"),
        ]
        indexes = [
            models.Index(fields=["movie"], name="rating_movie_idx"),
            # Ratings made since a version's snapshot: its list chunks and its publish read
            # only those from the database (recommender.services.lists).
            models.Index(fields=["rated_at"], name="rating_rated_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} rated {self.movie_id}: {self.value}"


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="tags")
    text = models.TextField()
    tagged_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "movie", "text", "tagged_at"], name="tag_unique_per_time"),
        ]
        indexes = [models.Index(fields=["movie"], name="tag_movie_idx")]

    def __str__(self) -> str:
        return self.text


class UserMovieMark(models.Model):
    """A mark one user puts on one movie, at most once: Dismissal, WatchlistEntry, Skip."""

    created_at = models.DateTimeField(auto_now_add=True)
    user_id: int
    movie_id: int
    # __str__, from the user and movie ids.
    text = "{user} marked {movie}"

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["user", "movie"], name="%(class)s_one_per_user_and_movie"),
        ]

    def __str__(self) -> str:
        return self.text.format(user=self.user_id, movie=self.movie_id)


class Dismissal(UserMovieMark):
    """A movie the user marked "not interested": kept out of their picks for good."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dismissals")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="dismissals")
    text = "{user} is not interested in {movie}"


class WatchlistEntry(UserMovieMark):
    """A movie the user saved for later: on their watchlist page, kept out of their picks while there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="watchlisted")
    text = "{user} saved {movie} for later"

    class Meta(UserMovieMark.Meta):
        constraints = [
            models.UniqueConstraint(fields=["user", "movie"], name="watchlist_one_per_user_and_movie"),
        ]
        verbose_name_plural = "watchlist entries"


class Skip(UserMovieMark):
    """A movie the user has not seen (onboarding's "haven't seen it"): not picked for them for a while,
    SKIP_DAYS from created_at (recommender.services.picks_queries); skipping it again restarts the pause."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="skips")
    text = "{user} has not seen {movie}"


class GroupChoice(UserMovieMark):
    """A movie of a group the user liked, or called "not for me", at onboarding's pick-groups step.

    Evidence of their taste while they have rated few movies (recommender.services.group_choice),
    never a rating: the ratings table, its totals and the person's export know nothing of it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_choices")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="group_choices")
    liked = models.BooleanField()
    group = models.CharField(max_length=300, help_text="The group's name as the person saw it.")
    text = "{user} chose a group with {movie}"


class TmdbDetails(models.Model):
    """A movie's plot and poster from TMDb (manage.py fetch_tmdb); a row with both empty means TMDb had none."""

    movie = models.OneToOneField(Movie, on_delete=models.CASCADE, primary_key=True, related_name="tmdb")
    plot = models.TextField(blank=True)
    poster_path = models.CharField(max_length=200, blank=True, help_text="TMDb's image path, such as /abc.jpg.")
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "TMDb details"
        verbose_name_plural = "TMDb details"

    def __str__(self) -> str:
        return f"TMDb details of {self.movie_id}"

    @property
    def poster_url(self) -> str:
        return f"https://image.tmdb.org/t/p/w342{self.poster_path}" if self.poster_path else ""
