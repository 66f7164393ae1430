"""The movies app: the catalogue and what people do with it."""

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class MoviesConfig(AppConfig):
    name = "movies"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        connection_created.connect(_sqlite_functions, dispatch_uid="movies_sqlite_functions")
        from movies import row_cache  # noqa: F401 (connects its signals: a saved movie's cached row goes)


def _sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give SQLite the WORD_SIMILARITY that pg_trgm gives PostgreSQL, so title search is the same on both."""
    if connection.vendor != "sqlite":
        return
    from movies.titles import word_similarity

    connection.connection.create_function("WORD_SIMILARITY", 2, word_similarity, deterministic=True)
