"""The exported artefact of a training run: numpy factors, loadable without TensorFlow.

One ``.npz`` file holds every array plus the JSON metadata (params, metrics,
snapshot size) and a sha256 over the arrays; a ``.json`` copy of the metadata
sits beside it for people and admin pages. The file is written under a temporary
name and renamed, so a reader never sees half a file. Loading uses
``np.load(allow_pickle=False)``: an artefact can never execute code.

Scores:
    ranking (picks):  user_vectors[u] . movie_vectors[m] + movie_bias[m]
    stars, head "sigmoid" (tutorial preset):
        low + (high - low) * sigmoid(kernel * (u . v + user_bias[u] + head.movie_bias[m]) + bias)
    stars, head "joint" (default preset):
        global_mean + user_bias[u] + head.movie_bias[m] + sum(u * weight * v)
        + user_rating_vectors[u] . movie_rating_vectors[m], clipped to [low, high]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.engine.ids import IdIndex, UsersAndMovies

FORMAT_VERSION = 1
_HEAD_PREFIX = "head__"
_META_KEY = "__metadata__"
_SUM_KEY = "__sha256__"


class ArtifactError(Exception):
    """A factors file that is missing, truncated, altered or of an unknown format."""


@dataclass(frozen=True)
class UserVector:
    """One user's side of the scores, trained or folded in.

    Attributes:
        vector: the ranking/shared embedding, float32 [dim].
        bias: the rating head's user bias.
        rating_vector: the rating head's own user embedding (empty for the tutorial head).
        prior: the popularity prior's weight in this user's picks (1 for trained users; fold-in
            sets it from the number of ratings, see foldin.prior_weight).
    """

    vector: np.ndarray
    bias: float = 0.0
    rating_vector: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    prior: float = 1.0


@dataclass
class Factors(UsersAndMovies):
    """Trained factors with their raw id maps and rating head.

    Attributes:
        user_ids: raw user ids, sorted, int64 [n_users].
        movie_ids: raw movie ids, sorted, int64 [n_movies].
        user_vectors: float32 [n_users, dim].
        movie_vectors: float32 [n_movies, dim].
        user_bias: float32 [n_users], the rating head's user bias.
        movie_bias: float32 [n_movies], the ranking bias (popularity term of the picks).
        head: the rating head's arrays; head["kind"] is "sigmoid" or "joint" (see module doc).
        metadata: JSON-able dict: preset, params, metrics, snapshot size, created time ...
    """

    user_ids: np.ndarray
    movie_ids: np.ndarray
    user_vectors: np.ndarray
    movie_vectors: np.ndarray
    user_bias: np.ndarray
    movie_bias: np.ndarray
    head: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    # The id maps of user_ids and movie_ids, made once.
    users: IdIndex = field(init=False, repr=False, compare=False)
    movies: IdIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.users = IdIndex(np.asarray(self.user_ids, dtype=np.int64))
        self.movies = IdIndex(np.asarray(self.movie_ids, dtype=np.int64))

    @property
    def dim(self) -> int:
        return int(self.movie_vectors.shape[1])

    @property
    def rating_range(self) -> tuple[float, float]:
        return float(self.head["low"]), float(self.head["high"])

    def user_index(self, raw_id: int) -> int | None:
        """The row in user_vectors of a user's primary key, or None for a user the model has not seen."""
        return self.users.get(raw_id)

    def movie_index(self, raw_id: int) -> int | None:
        """The row in movie_vectors of a movie's id, or None for a movie the model has not seen."""
        return self.movies.get(raw_id)

    def user(self, index: int) -> UserVector:
        """One trained user's side of the scores.

        Args:
            index: the user's row.

        Returns:
            A UserVector (the same type fold-in returns).
        """
        rv = self.head.get("user_rating_vectors")
        return UserVector(
            self.user_vectors[index],
            float(self.user_bias[index]),
            rv[index] if rv is not None else np.zeros(0, dtype=np.float32),
        )

    def predict_ratings(self, user: int | UserVector, movie_indexes: np.ndarray) -> np.ndarray:
        """Predicted stars of one user for some movies, clipped to the rating range.

        Args:
            user: a user index or a UserVector (from fold_in or Factors.user).
            movie_indexes: movie rows.

        Returns:
            float32 stars, one per movie.
        """
        u = self.user(user) if not isinstance(user, UserVector) else user
        m = np.asarray(movie_indexes, dtype=np.int64)
        return self.predict_pairs(u.vector[None, :], np.array([u.bias]), u.rating_vector[None, :], m)

    def predict_pairs(
        self,
        user_vectors: np.ndarray,
        user_bias: np.ndarray,
        user_rating_vectors: np.ndarray | None,
        movie_indexes: np.ndarray,
    ) -> np.ndarray:
        """Stars for rows of (user side, movie): broadcasting one user over many movies works too.

        Args:
            user_vectors: [n or 1, dim].
            user_bias: [n or 1].
            user_rating_vectors: [n or 1, rating_dim] for the joint head (ignored otherwise).
            movie_indexes: [n] movie rows.

        Returns:
            float32 stars [n], clipped to [low, high].
        """
        low, high = self.rating_range
        mv = self.movie_vectors[movie_indexes]
        hb = np.asarray(self.head["movie_bias"])[movie_indexes]
        if self.head["kind"] == "sigmoid":
            x = np.sum(user_vectors * mv, axis=1) + user_bias + hb
            z = float(self.head["kernel"]) * x + float(self.head["bias"])
            out = low + (high - low) / (1.0 + np.exp(-z))
        else:
            w = np.asarray(self.head["weight"])
            out = float(self.head["global_mean"]) + user_bias + hb + np.sum(user_vectors * w * mv, axis=1)
            qv = np.asarray(self.head["movie_rating_vectors"])
            if qv.shape[1] and user_rating_vectors is not None:
                out = out + np.sum(user_rating_vectors * qv[movie_indexes], axis=1)
        return np.clip(out, low, high).astype(np.float32)

    def predict_ids(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """Stars for raw (user, movie) id pairs; an unknown side falls back to zero factors.

        A user or movie the model never saw gets zero vectors and zero biases, so
        the prediction falls back to the global mean plus whatever side is known.

        Args:
            user_ids: raw user ids [n].
            movie_ids: raw movie ids [n].

        Returns:
            float32 stars [n].
        """
        ui = self.users.index(user_ids, unknown="missing").astype(np.int64)
        mi = self.movies.index(movie_ids, unknown="missing").astype(np.int64)
        both = (ui >= 0) & (mi >= 0)
        out = np.empty(len(ui), dtype=np.float32)
        rv = self.head.get("user_rating_vectors")
        u, m = ui[both], mi[both]
        out[both] = self.predict_pairs(self.user_vectors[u], self.user_bias[u], rv[u] if rv is not None else None, m)
        rest = ~both
        if rest.any():
            # Only the known side's bias is left: the vectors of the unknown side are zero.
            ub = np.where(ui[rest] >= 0, self.user_bias[np.maximum(ui[rest], 0)], 0.0)
            mb = np.where(mi[rest] >= 0, np.asarray(self.head["movie_bias"])[np.maximum(mi[rest], 0)], 0.0)
            low, high = self.rating_range
            if self.head["kind"] == "sigmoid":
                z = float(self.head["kernel"]) * (ub + mb) + float(self.head["bias"])
                out[rest] = low + (high - low) / (1.0 + np.exp(-z))
            else:
                out[rest] = np.clip(float(self.head["global_mean"]) + ub + mb, low, high)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the artefact under its file name (the head's under 'head__').

        Returns:
            name -> numpy array (no objects: the file must load without pickle).
        """
        out = {
            "user_ids": np.asarray(self.user_ids, dtype=np.int64),
            "movie_ids": np.asarray(self.movie_ids, dtype=np.int64),
            "user_vectors": np.asarray(self.user_vectors, dtype=np.float32),
            "movie_vectors": np.asarray(self.movie_vectors, dtype=np.float32),
            "user_bias": np.asarray(self.user_bias, dtype=np.float32),
            "movie_bias": np.asarray(self.movie_bias, dtype=np.float32),
        }
        for key, value in self.head.items():
            if key == "kind":
                out[_HEAD_PREFIX + key] = np.frombuffer(str(value).encode(), dtype=np.uint8)
            else:
                out[_HEAD_PREFIX + key] = np.asarray(value)
        return out


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and bytes of every array, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B") if a.size else b"")  # an empty array has no bytes to view
    return h.hexdigest()


def save_factors(factors: Factors, directory: Path) -> Path:
    """Write the artefact atomically and return its path.

    Steps:
        1. Gather arrays; compute the sha256 over them; embed it and the metadata.
        2. Write the .npz under a temporary name in the same directory, fsync, rename.
        3. Write the .json copy of the metadata the same way.
    The file name carries the checksum, so two versions never overwrite each other.

    Args:
        factors: the trained factors.
        directory: where to write (created if needed).

    Returns:
        Path of the .npz file (what load_factors takes).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = factors.arrays()
    digest = _checksum(arrays)
    meta = dict(factors.metadata)
    meta.update(
        {
            "format": FORMAT_VERSION,
            "sha256": digest,
            "n_users": factors.n_users,
            "n_movies": factors.n_movies,
            "dim": factors.dim,
            "head": factors.head["kind"],
        }
    )
    meta_json = json.dumps(meta, sort_keys=True, default=_json_default)
    arrays[_META_KEY] = np.frombuffer(meta_json.encode(), dtype=np.uint8)
    arrays[_SUM_KEY] = np.frombuffer(digest.encode(), dtype=np.uint8)
    path = directory / f"factors-{digest[:16]}.npz"
    _atomic_write(path, lambda f: np.savez(f, **arrays))
    _atomic_write(
        path.with_suffix(".json"),
        lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True, default=_json_default).encode()),
    )
    return path


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in metadata become plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} is not JSON-serialisable")


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_factors(path: Path) -> Factors:
    """Load and verify an artefact; no TensorFlow, never unpickles.

    Args:
        path: the .npz path save_factors returned.

    Returns:
        The Factors, metadata included.

    Raises:
        ArtifactError: missing, truncated, altered or unknown-format file, with the path and the reason.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such factors file")
    try:
        raw = path.read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ArtifactError(f"{path}: not a readable factors file (truncated or corrupt): {exc}") from exc
    for key in (_META_KEY, _SUM_KEY, "user_ids", "movie_ids", "user_vectors", "movie_vectors"):
        if key not in arrays:
            raise ArtifactError(f"{path}: not a factors file (no {key!r})")
    stored = arrays.pop(_SUM_KEY).tobytes().decode(errors="replace")
    meta_bytes = arrays.pop(_META_KEY).tobytes()
    actual = _checksum(arrays)
    if actual != stored:
        raise ArtifactError(
            f"{path}: checksum mismatch (stored {stored[:16]}..., content {actual[:16]}...): altered file"
        )
    try:
        meta = json.loads(meta_bytes.decode())
    except ValueError as exc:
        raise ArtifactError(f"{path}: metadata is not JSON: {exc}") from exc
    if meta.get("sha256") != stored:
        raise ArtifactError(f"{path}: metadata checksum does not match the arrays")
    if meta.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"{path}: format {meta.get('format')!r}, this code reads {FORMAT_VERSION}")
    head: dict[str, Any] = {}
    for name in list(arrays):
        if name.startswith(_HEAD_PREFIX):
            key = name[len(_HEAD_PREFIX) :]
            value = arrays.pop(name)
            head[key] = value.tobytes().decode() if key == "kind" else value
    return Factors(
        user_ids=arrays["user_ids"],
        movie_ids=arrays["movie_ids"],
        user_vectors=arrays["user_vectors"],
        movie_vectors=arrays["movie_vectors"],
        user_bias=arrays["user_bias"],
        movie_bias=arrays["movie_bias"],
        head=head,
        metadata=meta,
    )
