"""The MovieLens readers on their own: layouts, zips, streaming, bad input. No database."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from movies.importers import (
    BadRowError,
    LayoutError,
    UnsafeArchiveError,
    detect_layout,
    iter_ratings,
    iter_tags,
    open_source,
    parse_title,
    read_links,
    read_movies,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "movielens"
# layout folder -> (kind, ratings, movies, tags)
LAYOUTS = {
    "csv": ("csv", 7, 5, 3),
    "dat-1m": ("dat", 4, 3, 0),
    "dat-10m": ("dat", 5, 3, 2),
    "100k": ("100k", 4, 4, 0),
}


def zip_folder(folder: Path, out: Path, top: str) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{top}/", "")
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{top}/{path.name}")
    return out


def read_all(path: Path, block_size: int = 16 * 1024 * 1024):
    with open_source(path) as source:
        layout = detect_layout(source)
        movies = read_movies(source, layout)
        ids = np.array(sorted(m.id for m in movies))
        links = read_links(source, layout, ids)
        chunks = list(iter_ratings(source, layout, ids, block_size=block_size))
        tags = [row for chunk in iter_tags(source, layout, ids) for row in chunk.rows]
    return layout, movies, links, chunks, tags


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Babylon 5 (1994) ", "Babylon 5", 1994),
        ("American President, The (1995)", "American President, The", 1995),
        ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009),
        ("Fawlty Towers (1975-1979)", "Fawlty Towers", 1975),
        ("Hyena Road", "Hyena Road", None),
        ("1971", "1971", None),
    ],
)
def test_it_parses_the_year_out_of_titles(raw, title, year):
    assert parse_title(raw) == (title, year)


@pytest.mark.parametrize("folder", sorted(LAYOUTS))
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_it_reads_every_layout_from_a_folder_or_a_zip(folder, as_zip, tmp_path):
    kind, n_ratings, n_movies, n_tags = LAYOUTS[folder]
    path = zip_folder(FIXTURES / folder, tmp_path / f"ml-{folder}.zip", f"ml-{folder}") if as_zip else FIXTURES / folder
    layout, movies, _, chunks, tags = read_all(path)
    assert layout.kind == kind
    assert sum(len(c) for c in chunks) == n_ratings
    assert len(movies) == n_movies
    assert len(tags) == n_tags
    if as_zip:
        with open_source(path) as source:
            assert source.name == f"ml-{folder}"


def test_it_reads_titles_genres_and_links_of_the_csv_layout():
    _, movies, links, chunks, tags = read_all(FIXTURES / "csv")
    by_id = {m.id: m for m in movies}
    assert (by_id[2].title, by_id[2].year) == ("American President, The", 1995)
    assert (by_id[3].title, by_id[3].year) == ("Babylon 5", 1994)
    assert (by_id[4].title, by_id[4].year, by_id[4].genres) == ("Hyena Road", None, ())
    assert by_id[5].title == "Amélie"
    assert {link.movie_id: (link.imdb_id, link.tmdb_id) for link in links}[3] == ("0105946", None)
    assert chunks[0].line.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert (2, 1, "Highly quotable, really", 1445714996) in tags


def test_it_decodes_latin1_in_ml_1m_and_ml_100k_and_reads_100k_genre_flags():
    _, movies_1m, *_ = read_all(FIXTURES / "dat-1m")
    assert movies_1m[1].title == "Misérables, Les"
    _, movies_100k, *_ = read_all(FIXTURES / "100k")
    assert movies_100k[3].title == "Café au lait"
    assert movies_100k[1].genres == ("Action", "Adventure", "Thriller")


def test_it_streams_ratings_in_blocks_with_the_right_line_numbers(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "movies.csv").write_text("movieId,title,genres\n1,A (2000),Drama\n2,B (2001),Drama\n")
    lines = [f"{u},{1 + u % 2},{(u % 10 + 1) / 2},{1000 + u}" for u in range(1, 5001)]
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(lines) + "\n")
    _, _, _, chunks, _ = read_all(folder, block_size=4096)
    assert len(chunks) > 10
    assert max(len(c) for c in chunks) < 400  # memory is one block, not the file
    line = np.concatenate([c.line for c in chunks])
    user = np.concatenate([c.user for c in chunks])
    assert line.tolist() == list(range(2, 5002))
    assert user.tolist() == list(range(1, 5001))


def test_it_refuses_a_folder_that_is_no_movielens_data_set(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(LayoutError, match="no MovieLens ratings file"), open_source(tmp_path):
        pass


def _zip_with(tmp_path: Path, name: str, data: bytes = b"x") -> Path:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml/ratings.csv", "userId,movieId,rating,timestamp\n")
        archive.writestr("ml/movies.csv", "movieId,title,genres\n")
        archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("ml/../../etc/cron.d/evil", r"'ml/../../etc/cron.d/evil' points outside the archive \('..'\)"),
        ("/etc/passwd", "'/etc/passwd' has an absolute path"),
        ("C:/Windows/evil.dll", "'C:/Windows/evil.dll' has an absolute path"),
    ],
)
def test_it_refuses_zip_members_that_escape_the_folder(tmp_path, member, message):
    with pytest.raises(UnsafeArchiveError, match=message), open_source(_zip_with(tmp_path, member)):
        pass


def test_it_refuses_a_zip_bomb(tmp_path):
    path = _zip_with(tmp_path, "ml/tags.csv", b"\0" * (20 * 1024 * 1024))
    with (
        pytest.raises(UnsafeArchiveError, match=r"'ml/tags.csv' expands [\d,]+x .* likely zip bomb"),
        open_source(path),
    ):
        pass


def test_it_refuses_a_zip_whose_total_size_is_huge(tmp_path, monkeypatch):
    monkeypatch.setattr("movies.importers.archive.MAX_TOTAL_UNCOMPRESSED", 1000)
    path = _zip_with(tmp_path, "ml/README.txt", b"MovieLens " * 200)
    with pytest.raises(UnsafeArchiveError, match="over the limit of 1,000"), open_source(path):
        pass


def _copy(folder: str, tmp_path: Path) -> Path:
    out = tmp_path / folder
    out.mkdir()
    for path in (FIXTURES / folder).iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    return out


def _append(path: Path, data: bytes) -> None:
    path.write_bytes(path.read_bytes() + data)


BAD_INPUTS = {
    "malformed line": ("ratings.csv", b"4,1,4.0,964982703,extra\n", "ratings.csv line 9: expected 4 fields, found 5"),
    "not a number": ("ratings.csv", b"4,one,4.0,964982703\n", "ratings.csv line 9: movie id is not an integer: 'one'"),
    "unknown movie in ratings": ("ratings.csv", b"4,99,4.0,964982703\n", "ratings.csv line 9: unknown movie id: '99'"),
    "rating out of range": (
        "ratings.csv",
        b"4,1,7.0,964982703\n",
        "ratings.csv line 9: rating is not 0.5 to 5.0 in half stars: '7.0'",
    ),
    "rating between half stars": (
        "ratings.csv",
        b"4,1,3.3,964982703\n",
        "ratings.csv line 9: rating is not 0.5 to 5.0 in half stars: '3.3'",
    ),
    "unknown movie in tags": ("tags.csv", b"4,77,scary,1445715000\n", "tags.csv line 5: unknown movie id: '77'"),
    "undecodable movies": ("movies.csv", b"6,Caf\xe9 (1999),Drama\n", "movies.csv line 7: not valid utf-8 text"),
    "undecodable ratings": ("ratings.csv", b"4,1,4.\xff,964982703\n", "ratings.csv line 9: not valid utf-8 text"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_it_names_file_line_and_value_of_bad_input(case, tmp_path):
    file, data, message = BAD_INPUTS[case]
    folder = _copy("csv", tmp_path)
    _append(folder / file, data)
    with pytest.raises(BadRowError) as error:
        read_all(folder)
    assert str(error.value).startswith(message)


def test_it_names_the_line_in_the_dat_layout(tmp_path):
    folder = _copy("dat-10m", tmp_path)
    _append(folder / "ratings.dat", b"4::2::9::838984474\n")
    with pytest.raises(
        BadRowError, match=re.escape("ratings.dat line 6: rating is not 0.5 to 5.0 in half stars: '9.0'")
    ):
        read_all(folder)


def test_the_readers_do_not_import_django():
    code = "import sys, movies.importers, movies.synthetic; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
