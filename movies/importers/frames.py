"""A MovieLens data set's ratings as one table, for evaluation and benchmarks (no database)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from movies.importers.archive import open_source
from movies.importers.layouts import detect_layout
from movies.importers.readers import iter_ratings, read_movies


def read_ratings_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every valid rating of a MovieLens zip or folder (any layout), as userId, movieId, rating, timestamp.

    Rows are validated as the importer validates them; a bad row raises MovieLensError
    naming the file, line and value.
    """
    users: list[np.ndarray] = []
    movies: list[np.ndarray] = []
    values: list[np.ndarray] = []
    times: list[np.ndarray] = []
    with open_source(path) as source:
        layout = detect_layout(source)
        movie_ids = np.sort(np.array([m.id for m in read_movies(source, layout)], dtype=np.int64))
        for chunk in iter_ratings(source, layout, movie_ids):
            users.append(chunk.user.astype(np.int32))
            movies.append(chunk.movie.astype(np.int32))
            values.append(chunk.value.astype(np.float32))
            times.append(chunk.timestamp.astype(np.int64))
    if not users:
        return pd.DataFrame(
            {
                "userId": np.zeros(0, np.int32),
                "movieId": np.zeros(0, np.int32),
                "rating": np.zeros(0, np.float32),
                "timestamp": np.zeros(0, np.int64),
            }
        )
    return pd.DataFrame(
        {
            "userId": np.concatenate(users),
            "movieId": np.concatenate(movies),
            "rating": np.concatenate(values),
            "timestamp": np.concatenate(times),
        }
    )
