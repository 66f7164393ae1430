"""The exported factors: save and load, clipped predictions, refused damaged files, no pickle, no Django."""

import json
import zipfile

import numpy as np
import pytest

from recommender.engine.factors import ArtifactError, load_factors, save_factors
from tests.fresh_interpreter import packages_loaded_by


def test_a_saved_and_reloaded_artefact_gives_identical_predictions(factors, tmp_path):
    path = save_factors(factors, tmp_path)
    again = load_factors(path)
    movies = np.arange(factors.n_movies)
    for u in (0, 17, 49):
        np.testing.assert_array_equal(again.predict_ratings(u, movies), factors.predict_ratings(u, movies))
    np.testing.assert_array_equal(again.user_vectors, factors.user_vectors)
    assert again.user_index(int(factors.user_ids[5])) == 5 and again.user_index(-1) is None
    assert again.metadata["preset"] == "test" and again.metadata["n_movies"] == factors.n_movies
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == again.metadata["sha256"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_predictions_are_clipped_to_the_rating_range(factors):
    factors.head["global_mean"] = np.float32(100.0)
    assert factors.predict_ratings(0, np.arange(10)).max() == 5.0


def test_unknown_ids_fall_back_to_the_known_side(factors):
    u, m = int(factors.user_ids[0]), int(factors.movie_ids[0])
    got = factors.predict_ids(np.array([u, -5, u]), np.array([m, m, -9]))
    assert got[0] == pytest.approx(factors.predict_ratings(0, [0])[0], abs=1e-5)
    head = factors.head
    assert got[1] == pytest.approx(float(head["global_mean"] + head["movie_bias"][0]), abs=1e-5)
    assert got[2] == pytest.approx(float(head["global_mean"] + factors.user_bias[0]), abs=1e-5)


def test_a_truncated_artefact_is_refused(factors, tmp_path):
    path = save_factors(factors, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        load_factors(path)


def test_an_altered_artefact_is_refused(factors, tmp_path):
    path = save_factors(factors, tmp_path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["movie_bias"] = arrays["movie_bias"] + 1.0  # rewritten as a valid zip, content changed
    np.savez(path, **arrays)
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_factors(path)


def test_a_flipped_byte_is_refused(factors, tmp_path):
    path = save_factors(factors, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError):
        load_factors(path)


def test_it_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, user_ids=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError):
        load_factors(path)
    with pytest.raises(ArtifactError, match="no such"):
        load_factors(tmp_path / "missing.npz")
    with zipfile.ZipFile(tmp_path / "junk.npz", "w") as z:
        z.writestr("x.txt", "hello")
    with pytest.raises(ArtifactError):
        load_factors(tmp_path / "junk.npz")


ENGINE_WEB_MODULES = ["factors", "ranking", "similar", "metrics", "dataset", "evaluation"]


def test_importing_the_engine_leaves_django_and_tensorflow_out():
    modules = ["recommender.engine", *(f"recommender.engine.{m}" for m in ENGINE_WEB_MODULES)]
    assert packages_loaded_by(modules, among=("django", "tensorflow", "keras", "celery", "redis")) == []


def test_a_head_without_rating_vectors_saves_and_folds_in(factors, tmp_path):
    from recommender.engine.foldin import fold_in

    factors.head["user_rating_vectors"] = np.zeros((factors.n_users, 0), np.float32)
    factors.head["movie_rating_vectors"] = np.zeros((factors.n_movies, 0), np.float32)
    again = load_factors(save_factors(factors, tmp_path))
    np.testing.assert_array_equal(again.predict_ratings(3, np.arange(20)), factors.predict_ratings(3, np.arange(20)))
    me = fold_in(again, [1, 2, 3], [5.0, 4.0, 1.0])
    assert again.predict_ratings(me, [1, 2, 3]).shape == (3,)
