"""Which of the MovieLens layouts a data set uses, and the names of its files."""

from dataclasses import dataclass

from movies.importers.archive import Source
from movies.importers.errors import CorruptFileError, LayoutError

# ml-100k's u.genre, for a copy of the data set that lost it.
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """The files of one data set.

    kind is 'csv' (ml-latest*, ml-20m, ml-25m, ml-32m), 'dat' (ml-1m, ml-10m, fields
    separated by '::') or '100k' (tab-separated u.data, pipe-separated u.item).
    """

    kind: str
    ratings: str
    movies: str
    tags: str | None
    links: str | None
    genres: str | None
    encoding: str


# The layouts, in the order they are told apart: kind, the ratings file that tells it, the movies
# file, and the optional tags, links and genres files (None: that layout never has one).
_LAYOUTS = (
    ("csv", "ratings.csv", "movies.csv", ("tags.csv", "links.csv", None)),
    ("dat", "ratings.dat", "movies.dat", ("tags.dat", None, None)),
    ("100k", "u.data", "u.item", (None, None, "u.genre")),
)


def _encoding(kind: str, source: Source) -> str:
    """ml-100k and ml-1m (the 'dat' release with users.dat) are latin-1; ml-10m and the csv ones UTF-8."""
    return "latin-1" if kind == "100k" or (kind == "dat" and source.has("users.dat")) else "utf-8"


def detect_layout(source: Source) -> Layout:
    """Tell the layout from the file names, and check the files it needs are there."""
    for kind, ratings, movies, optional in _LAYOUTS:
        if source.has(ratings):
            tags, links, genres = (name if name and source.has(name) else None for name in optional)
            layout = Layout(kind, ratings, movies, tags, links, genres, encoding=_encoding(kind, source))
            break
    else:
        raise LayoutError(f"{source.name}: no ratings.csv, ratings.dat or u.data; not a MovieLens data set")
    if not source.has(layout.movies):
        raise LayoutError(f"{source.name}: {layout.ratings} found but {layout.movies} is missing")
    for name in (layout.ratings, layout.movies):
        if source.size(name) == 0:
            raise CorruptFileError(f"{source.name}: {name} is empty (0 bytes); nothing to import")
    return layout
