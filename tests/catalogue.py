"""The app tests' base data: five well-known movies in four genres, and named users with one password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from movies.models import Genre, Movie

PASSWORD = "a-long-test-passphrase-42"

GENRES = ["Animation", "Comedy", "Drama", "Sci-Fi"]
# (id, title, year, genres, IMDb id, TMDb id)
MOVIES = [
    (1, "Toy Story", 1995, ["Animation", "Comedy"], "0114709", 862),
    (2, "Jumanji", 1995, ["Comedy"], "0113497", 8844),
    (3, "Heat", 1995, ["Drama"], "0113277", 949),
    (4, "The Matrix", 1999, ["Sci-Fi"], "0133093", 603),
    (5, "Amélie", 2001, ["Comedy", "Drama"], "0211915", 194),
]


def genres_create() -> dict[str, Genre]:
    return {name: Genre.objects.create(name=name) for name in GENRES}


def movies_create(genres: dict[str, Genre], *, rated: bool = False) -> dict[str, Movie]:
    """MOVIES by title. rated: with totals as if people had rated them (a count that falls as the
    id rises, a mean of 4), though no Rating row exists."""
    found = {}
    for movie_id, title, year, names, imdb, tmdb in MOVIES:
        totals = {"ratings_count": 10 - movie_id, "ratings_mean": 4.0} if rated else {}
        movie = Movie.objects.create(id=movie_id, title=title, year=year, imdb_id=imdb, tmdb_id=tmdb, **totals)
        movie.genres.set([genres[n] for n in names])
        found[title] = movie
    return found


def user_create(username: str) -> User:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)
