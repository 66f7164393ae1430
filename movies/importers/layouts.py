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


def detect_layout(source: Source) -> Layout:
    """Tell the layout from the file names, and check the files it needs are there."""
    if source.has("ratings.csv"):
        layout = Layout(
            kind="csv",
            ratings="ratings.csv",
            movies="movies.csv",
            tags="tags.csv" if source.has("tags.csv") else None,
            links="links.csv" if source.has("links.csv") else None,
            genres=None,
            encoding="utf-8",
        )
    elif source.has("ratings.dat"):
        layout = Layout(
            kind="dat",
            ratings="ratings.dat",
            movies="movies.dat",
            tags="tags.dat" if source.has("tags.dat") else None,
            links=None,
            genres=None,
            # ml-1m (the release with users.dat) is latin-1; ml-10m is UTF-8.
            encoding="latin-1" if source.has("users.dat") else "utf-8",
        )
    elif source.has("u.data"):
        layout = Layout(
            kind="100k",
            ratings="u.data",
            movies="u.item",
            tags=None,
            links=None,
            genres="u.genre" if source.has("u.genre") else None,
            encoding="latin-1",
        )
    else:
        raise LayoutError(f"{source.name}: no ratings.csv, ratings.dat or u.data; not a MovieLens data set")
    if not source.has(layout.movies):
        raise LayoutError(f"{source.name}: {layout.ratings} found but {layout.movies} is missing")
    for name in (layout.ratings, layout.movies):
        if source.size(name) == 0:
            raise CorruptFileError(f"{source.name}: {name} is empty (0 bytes); nothing to import")
    return layout
