"""Data sets the importer must refuse with a clear error naming the file (issue 15, item 13)."""

import os
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError

from movies.models import Movie, Rating
from tests.movies.test_import_movielens import copy_fixture, run

pytestmark = pytest.mark.django_db


def test_an_empty_ratings_file_is_an_error_and_nothing_is_written(tmp_path):
    root = copy_fixture("csv", tmp_path)
    (root / "ratings.csv").write_bytes(b"")
    with pytest.raises(CommandError, match=r"ratings\.csv.*empty"):
        run(str(root))
    assert not Movie.objects.exists()


def test_a_header_only_ratings_file_is_a_clear_error(tmp_path):
    root = copy_fixture("csv", tmp_path)
    (root / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(CommandError, match=r"ratings\.csv.*no ratings"):
        run(str(root))
    assert not Movie.objects.exists() and not Rating.objects.exists()


def _lying_zip(tmp_path: Path) -> Path:
    """A zip whose ratings.csv bytes were changed after its CRC was written."""
    root = Path(__file__).resolve().parents[1] / "fixtures" / "movielens" / "csv"
    path = tmp_path / "ml-test.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(os.listdir(root)):
            archive.write(root / name, f"ml-test/{name}")
    data = bytearray(path.read_bytes())
    at = data.index(b"userId,movieId,rating,timestamp\n") + len(b"userId,movieId,rating,timestamp\n")
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    return path


def test_a_zip_with_a_bad_crc_is_a_clear_error_naming_the_member(tmp_path):
    with pytest.raises(CommandError, match=r"ratings\.csv.*(CRC|corrupt)"):
        run(str(_lying_zip(tmp_path)))
    assert not Rating.objects.exists()


def test_a_symlinked_ratings_file_is_refused_and_its_target_never_echoed(tmp_path):
    root = copy_fixture("csv", tmp_path)
    (root / "ratings.csv").unlink()
    (root / "ratings.csv").symlink_to("/etc/passwd")
    with pytest.raises(CommandError, match=r"ratings\.csv.*symbolic link") as error:
        run(str(root))
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    assert first_line not in str(error.value)
    assert "root:" not in str(error.value)


def test_a_file_that_is_not_a_movielens_file_is_never_echoed(tmp_path):
    root = copy_fixture("csv", tmp_path)
    (root / "ratings.csv").write_text("secret-line-one:x:0:0\nsecret-line-two\n")
    with pytest.raises(CommandError, match=r"ratings\.csv") as error:
        run(str(root))
    assert "secret-line" not in str(error.value)
