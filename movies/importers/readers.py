"""Streaming, validating readers for the MovieLens files, without Django.

Ratings are read in blocks of whole lines: pandas parses a block in C and numpy
validates it; only a block that fails to parse is walked line by line, to name
the exact line and value. Memory is one block, whatever the size of the file.
Every rejected line goes to ``on_bad``; the default raises BadRowError, the
caller may instead collect the rows and go on (--skip-bad-rows).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from movies.importers.archive import Source
from movies.importers.errors import BadRow, BadRowError, CorruptFileError
from movies.importers.layouts import ML100K_GENRES, Layout

OnBad = Callable[[BadRow], None]

BLOCK_SIZE = 16 * 1024 * 1024
TAG_BATCH = 50_000
TITLE_MAX = 512  # Movie.title's max_length
GENRE_MAX = 64  # Genre.name's max_length
ID_MAX = 2**31 - 1  # ids go into integer columns
TIMESTAMP_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant a datetime holds
NO_GENRES = {"(no genres listed)", "unknown", ""}

CSV_HEADERS = {
    "ratings.csv": "userId,movieId,rating,timestamp",
    "movies.csv": "movieId,title,genres",
    "tags.csv": "userId,movieId,tag,timestamp",
    "links.csv": "movieId,imdbId,tmdbId",
}

# "Toy Story (1995)", "Babylon 5 (1994) ", "Fawlty Towers (1975-1979)", "Ancient Aliens (2009-)" (with an en dash).
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*(?:\d{4})?)?\)\s*$")


def raise_bad(bad: BadRow) -> None:
    raise BadRowError(bad)


def parse_title(raw: str) -> tuple[str, int | None]:
    """Split 'Toy Story (1995)' into ('Toy Story', 1995); a title without a year keeps year None."""
    match = _TITLE_YEAR.match(raw)
    if match and match.group("title").strip():
        return match.group("title").strip(), int(match.group("year"))
    return raw.strip(), None


@dataclass(frozen=True)
class MovieRow:
    id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class LinkRow:
    movie_id: int
    imdb_id: str
    tmdb_id: int | None


@dataclass
class RatingChunk:
    """Valid ratings of one block, in file order, as MovieLens ids."""

    user: np.ndarray  # int64
    movie: np.ndarray  # int64
    value: np.ndarray  # float64
    timestamp: np.ndarray  # int64, seconds since 1970 UTC
    line: np.ndarray  # int64, line number of each row
    nbytes: int  # bytes of the file the block covered, for progress bars

    def __len__(self) -> int:
        return len(self.user)


@dataclass
class TagChunk:
    rows: list[tuple[int, int, str, int]]  # (user, movie, text, timestamp)
    nbytes: int


# --- Text lines, decoded with their line numbers --------------------------------------------------


class _Lines:
    """Decoded lines of a binary stream, counting lines and bytes as it goes."""

    def __init__(self, stream: io.BufferedIOBase, file: str, encoding: str, on_bad: OnBad) -> None:
        self.stream = stream
        self.file = file
        self.encoding = encoding
        self.on_bad = on_bad
        self.line = 0
        self.nbytes = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            self.line += 1
            self.nbytes += len(raw)
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.on_bad(
                    BadRow(self.file, self.line, repr(raw[max(exc.start - 20, 0) : exc.end + 20]),
                           f"not valid {self.encoding} text (byte {exc.start + 1} of the line)")
                )  # fmt: skip
                continue
            yield text


def _check_header(file: str, first: str | None, on_bad: OnBad) -> None:
    expected = CSV_HEADERS[file]
    if first is None or first.strip().lstrip("\ufeff") != expected:
        # The line itself is not quoted: a file without the header may be no MovieLens file at all.
        on_bad(BadRow(file, 1, "", f"expected the header {expected!r}; this is not a MovieLens {file}"))


def _int(text: str) -> int:
    value = int(text.strip())
    if not 0 < value <= ID_MAX:
        raise ValueError(text)
    return value


def _id(raw: str, what: str, file: str, line: int, on_bad: OnBad) -> int | None:
    """raw as an id (a positive integer), or None once on_bad has been told it is not one."""
    try:
        return _int(raw)
    except ValueError:
        on_bad(BadRow(file, line, raw, f"{what} is not a positive integer"))
        return None


def _known_movie_id(raw: str, movie_ids: np.ndarray, file: str, line: int, on_bad: OnBad) -> int | None:
    """raw as the id of a movie in the sorted movie_ids, or None once on_bad has been told why not."""
    movie_id = _id(raw, "movie id", file, line, on_bad)
    if movie_id is not None and not _known(movie_ids, movie_id):
        on_bad(BadRow(file, line, raw, "unknown movie id"))
        return None
    return movie_id


def _records(source: Source, layout: Layout, file: str, on_bad: OnBad) -> Iterator[tuple[int, list[str], int]]:
    """(line number, fields, bytes read so far) for each non-blank line of a movies/tags/links file."""
    with source.open(file) as stream:
        lines = _Lines(stream, file, layout.encoding, on_bad)
        if layout.kind == "csv":
            reader = csv.reader(lines, strict=True)
            try:
                header = next(reader, None)
            except csv.Error as exc:
                header = [f"malformed csv ({exc})"]
            _check_header(file, ",".join(header) if header is not None else None, on_bad)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    # The reader starts afresh on the next line, so --skip-bad-rows can go on.
                    on_bad(BadRow(file, lines.line, "", f"malformed csv ({exc})"))
                    continue
                if fields:
                    yield lines.line, fields, lines.nbytes
            return
        sep = "::" if layout.kind == "dat" else "|"
        for text in lines:
            text = text.rstrip("\r\n")
            if text.strip():
                yield lines.line, text.split(sep), lines.nbytes


def read_movies(source: Source, layout: Layout, on_bad: OnBad = raise_bad) -> list[MovieRow]:
    """All movies of the data set (tens of thousands at most, so a list is fine)."""
    file = layout.movies
    genre_names = list(ML100K_GENRES)
    if layout.kind == "100k" and layout.genres:
        genre_names = [
            fields[0] for _, fields, _ in _records(source, layout, layout.genres, on_bad) if len(fields) >= 2
        ]
    movies: list[MovieRow] = []
    seen: set[int] = set()
    for line, fields, _ in _records(source, layout, file, on_bad):
        if layout.kind == "100k":
            if len(fields) != 5 + len(genre_names):
                on_bad(BadRow(file, line, "|".join(fields), f"expected {5 + len(genre_names)} fields"))
                continue
            raw_id, raw_title, flags = fields[0], fields[1], fields[5:]
            if any(flag not in ("0", "1") for flag in flags):
                on_bad(BadRow(file, line, "|".join(flags), "genre flags must be 0 or 1"))
                continue
            genres = tuple(name for name, flag in zip(genre_names, flags, strict=True) if flag == "1")
        else:
            if len(fields) < 3 or (layout.kind == "csv" and len(fields) != 3):
                on_bad(BadRow(file, line, ",".join(fields), "expected 3 fields (movieId, title, genres)"))
                continue
            # A '::' title may itself hold '::'; the id is first and the genres last.
            raw_id, raw_title, raw_genres = fields[0], "::".join(fields[1:-1]), fields[-1]
            genres = tuple(g.strip() for g in raw_genres.split("|"))
        movie_id = _id(raw_id, "movie id", file, line, on_bad)
        if movie_id is None:
            continue
        if movie_id in seen:
            on_bad(BadRow(file, line, raw_id, "movie id appears twice"))
            continue
        title, year = parse_title(raw_title)
        if not title or len(title) > TITLE_MAX:
            on_bad(BadRow(file, line, raw_title, f"title must have 1 to {TITLE_MAX} characters"))
            continue
        genres = tuple(g for g in genres if g not in NO_GENRES)
        if any(len(g) > GENRE_MAX for g in genres):
            on_bad(BadRow(file, line, "|".join(genres), f"genre names have at most {GENRE_MAX} characters"))
            continue
        seen.add(movie_id)
        movies.append(MovieRow(movie_id, title, year, genres, line))
    return movies


def read_links(source: Source, layout: Layout, movie_ids: np.ndarray, on_bad: OnBad = raise_bad) -> list[LinkRow]:
    """IMDb ids (7-digit strings without 'tt') and TMDb ids of known movies."""
    if not layout.links:
        return []
    file = layout.links
    links: list[LinkRow] = []
    for line, fields, _ in _records(source, layout, file, on_bad):
        if len(fields) != 3:
            on_bad(BadRow(file, line, ",".join(fields), "expected 3 fields (movieId, imdbId, tmdbId)"))
            continue
        raw_movie, raw_imdb, raw_tmdb = (f.strip() for f in fields)
        movie_id = _known_movie_id(raw_movie, movie_ids, file, line, on_bad)
        if movie_id is None:
            continue
        imdb = raw_imdb.removeprefix("tt")
        if imdb and not (imdb.isdigit() and len(imdb) <= 10):
            on_bad(BadRow(file, line, raw_imdb, "IMDb id is not a number"))
            continue
        try:
            tmdb = _int(raw_tmdb) if raw_tmdb else None
        except ValueError:
            on_bad(BadRow(file, line, raw_tmdb, "TMDb id is not a positive integer"))
            continue
        links.append(LinkRow(movie_id, f"{int(imdb):07d}" if imdb else "", tmdb))
    return links


def _known(sorted_ids: np.ndarray, value: int) -> bool:
    i = int(np.searchsorted(sorted_ids, value))
    return i < len(sorted_ids) and int(sorted_ids[i]) == value


def known_mask(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values that are in sorted_ids, vectorised."""
    if len(sorted_ids) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_ids, values).clip(0, len(sorted_ids) - 1)
    return sorted_ids[pos] == values


def iter_tags(source: Source, layout: Layout, movie_ids: np.ndarray, on_bad: OnBad = raise_bad) -> Iterator[TagChunk]:
    """Valid tags in batches; tags.csv / tags.dat, nothing for layouts without tags."""
    if not layout.tags:
        return
    file = layout.tags
    rows: list[tuple[int, int, str, int]] = []
    reported = 0
    nbytes = 0
    for line, fields, nbytes in _records(source, layout, file, on_bad):
        if len(fields) < 4 or (layout.kind == "csv" and len(fields) != 4):
            on_bad(BadRow(file, line, ",".join(fields), "expected 4 fields (userId, movieId, tag, timestamp)"))
            continue
        # A '::' tag may itself hold '::'; user and movie come first and the time last.
        raw_user, raw_movie, text, raw_ts = fields[0], fields[1], "::".join(fields[2:-1]), fields[-1]
        user = _id(raw_user, "user id", file, line, on_bad)
        if user is None:
            continue
        movie = _known_movie_id(raw_movie, movie_ids, file, line, on_bad)
        if movie is None:
            continue
        try:
            ts = int(raw_ts.strip())
            if not 0 <= ts <= TIMESTAMP_MAX:
                raise ValueError(raw_ts)
        except ValueError:
            on_bad(BadRow(file, line, raw_ts, "timestamp is not seconds since 1970"))
            continue
        rows.append((user, movie, text, ts))
        if len(rows) >= TAG_BATCH:
            yield TagChunk(rows, nbytes - reported)
            rows, reported = [], nbytes
    if rows or nbytes > reported:
        yield TagChunk(rows, nbytes - reported)


# --- Ratings: the big file ------------------------------------------------------------------------

_RATING_COLUMNS = ["user", "movie", "value", "timestamp"]
_RATING_DTYPES = {"user": "int64", "movie": "int64", "value": "float64", "timestamp": "int64"}


def _blocks(stream: io.BufferedIOBase, size: int) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines and the number of the block's first line."""
    rest = b""
    line = 1
    while True:
        data = stream.read(size)
        if not data:
            if rest:
                yield rest, line
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        block, rest = data[:cut], data[cut:]
        yield block, line
        line += block.count(b"\n")


def _parse_fast(block: bytes, sep: str, expected_rows: int) -> pd.DataFrame | None:
    """The block parsed in C, or None when any line is odd (then the slow path names it)."""
    try:
        frame = pd.read_csv(
            io.BytesIO(block),
            sep=sep,
            header=None,
            names=_RATING_COLUMNS,
            dtype=_RATING_DTYPES,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError, OverflowError):
        return None
    if len(frame) != expected_rows:
        return None
    return frame


# What each field of a rating line must be, and the reason given for one that is not.
_RATING_FIELDS: tuple[tuple[Callable[[str], Any], str], ...] = (
    (int, "user id is not an integer"),
    (int, "movie id is not an integer"),
    (float, "rating is not a number"),
    (int, "timestamp is not an integer"),
)


def _rating_numbers(fields: list[str], file: str, line: int, bad: list[BadRow]) -> tuple[int, int, float, int] | None:
    """The four numbers of a rating line's fields, or None once the first that is not one is added to bad."""
    numbers = []
    for text, (parse, reason) in zip(fields, _RATING_FIELDS, strict=True):
        try:
            numbers.append(parse(text))
        except ValueError:
            bad.append(BadRow(file, line, text, reason))
            return None
    user, movie, value, stamp = numbers
    return user, movie, value, stamp


def _parse_slow(
    block: bytes, sep: str, first_line: int, file: str, encoding: str, bad: list[BadRow]
) -> tuple[list[int], list[int], list[float], list[int], list[int]]:
    users: list[int] = []
    movies: list[int] = []
    values: list[float] = []
    stamps: list[int] = []
    lines: list[int] = []
    for offset, raw in enumerate(block.split(b"\n")):
        line = first_line + offset
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            bad.append(BadRow(file, line, repr(raw[:120]), f"not valid {encoding} text"))
            continue
        fields = text.split(sep)
        if len(fields) != 4:
            bad.append(BadRow(file, line, text, f"expected 4 fields, found {len(fields)}"))
            continue
        numbers = _rating_numbers(fields, file, line, bad)
        if numbers is None:
            continue
        user, movie, value, stamp = numbers
        if not (-(2**62) < user < 2**62 and -(2**62) < movie < 2**62 and -(2**62) < stamp < 2**62):
            bad.append(BadRow(file, line, text, "number out of range"))
            continue
        users.append(user)
        movies.append(movie)
        values.append(value)
        stamps.append(stamp)
        lines.append(line)
    return users, movies, values, stamps, lines


def _validate(
    file: str,
    user: np.ndarray,
    movie: np.ndarray,
    value: np.ndarray,
    stamp: np.ndarray,
    line: np.ndarray,
    movie_ids: np.ndarray,
    bad: list[BadRow],
) -> np.ndarray:
    """A mask of the valid rows; the others are added to bad with their reason."""
    checks: list[tuple[np.ndarray, np.ndarray, str]] = [
        ((user > 0) & (user <= ID_MAX), user, "user id is not a positive integer"),
        (known_mask(movie_ids, movie), movie, "unknown movie id"),
        # Half stars from 0.5 to 5.0; ml-100k and ml-1m use whole stars, a subset.
        ((value >= 0.5) & (value <= 5.0) & (value * 2 == np.floor(value * 2)), value,
         "rating is not 0.5 to 5.0 in half stars"),
        ((stamp >= 0) & (stamp <= TIMESTAMP_MAX), stamp, "timestamp is not seconds since 1970"),
    ]  # fmt: skip
    ok = np.ones(len(user), dtype=bool)
    for passed, column, reason in checks:
        failed = ~passed & ok
        if failed.any():
            for i in np.flatnonzero(failed):
                bad.append(BadRow(file, int(line[i]), str(column[i].item()), reason))
            ok &= passed
    return ok


def iter_ratings(
    source: Source,
    layout: Layout,
    movie_ids: np.ndarray,
    on_bad: OnBad = raise_bad,
    block_size: int = BLOCK_SIZE,
) -> Iterator[RatingChunk]:
    """Valid ratings in blocks of about block_size bytes.

    Args:
        movie_ids: sorted ids of the movies ratings may refer to.
        on_bad: called with each rejected line, in file order; raising stops the import.
    """
    file = layout.ratings
    sep = {"csv": ",", "dat": "::", "100k": "\t"}[layout.kind]
    data_lines = 0
    with source.open(file) as stream:
        for block, first_line in _blocks(stream, block_size):  # type: ignore[arg-type]
            nbytes = len(block)
            if first_line == 1 and layout.kind == "csv":
                end = block.find(b"\n") + 1 or len(block)
                header = block[:end].decode("utf-8", "replace")
                _check_header(file, header, on_bad)
                block, first_line = block[end:], 2
            bad: list[BadRow] = []
            rows = block.count(b"\n") + (0 if block.endswith(b"\n") or not block else 1)
            data_lines += rows if block.strip() else 0
            # '::' is two characters, which the C parser does not take; the fields are numbers,
            # so replacing it with a comma changes nothing else.
            fast_block, fast_sep = (block.replace(b"::", b","), ",") if sep == "::" else (block, sep)
            frame = _parse_fast(fast_block, fast_sep, rows) if rows else None
            if frame is not None:
                user = frame["user"].to_numpy()
                movie = frame["movie"].to_numpy()
                value = frame["value"].to_numpy()
                stamp = frame["timestamp"].to_numpy()
                line = np.arange(first_line, first_line + rows, dtype=np.int64)
            else:
                parsed = _parse_slow(block, sep, first_line, file, layout.encoding, bad)
                user, movie, stamp, line = (np.asarray(a, dtype=np.int64) for a in parsed[:2] + parsed[3:])
                value = np.asarray(parsed[2], dtype=np.float64)
            ok = _validate(file, user, movie, value, stamp, line, movie_ids, bad)
            for row in sorted(bad, key=lambda b: b.line):
                on_bad(row)
            if not ok.all():
                user, movie, value, stamp, line = user[ok], movie[ok], value[ok], stamp[ok], line[ok]
            yield RatingChunk(user, movie, value, stamp, line, nbytes)
    if not data_lines:
        raise CorruptFileError(f"{file}: no ratings in the file; nothing to import")


def scan_user_ids(source: Source, layout: Layout, block_size: int = BLOCK_SIZE) -> np.ndarray:
    """The distinct user ids of the ratings file, in one quick pass (2 s for 25M ratings).

    Lenient on purpose: iter_ratings validates and reports bad lines; this only lets the
    caller create the users before the ratings stream in.
    """
    sep = {"csv": ",", "dat": "::", "100k": "\t"}[layout.kind]
    seen: list[np.ndarray] = []
    with source.open(layout.ratings) as stream:
        for block, first_line in _blocks(stream, block_size):  # type: ignore[arg-type]
            if sep == "::":
                block = block.replace(b"::", b",")
            if first_line == 1 and layout.kind == "csv":
                block = block[block.find(b"\n") + 1 :]
            if not block.strip():
                continue  # a header alone: iter_ratings reports the missing ratings
            options = {"sep": "," if sep == "::" else sep, "header": None, "usecols": [0], "engine": "c"}
            try:
                users = pd.read_csv(io.BytesIO(block), dtype=np.float64, **options)[0].to_numpy()
            except (ValueError, pd.errors.ParserError):
                # An odd line somewhere in the block: the slow, forgiving parse.
                frame = pd.read_csv(
                    io.BytesIO(block), dtype=str, quoting=csv.QUOTE_NONE, on_bad_lines="skip", **options
                )
                users = pd.to_numeric(frame[0], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            users = users[(users > 0) & (users <= ID_MAX) & (users == np.floor(users))]
            seen.append(np.unique(users.astype(np.int64)))
    return np.unique(np.concatenate(seen)) if seen else np.zeros(0, dtype=np.int64)


def pair_keys(user: np.ndarray, movie: np.ndarray) -> np.ndarray:
    """One int64 per (user, movie) pair, both ids being below 2**31."""
    return (user.astype(np.int64) << 32) | movie.astype(np.int64)


def find_duplicate_pairs(
    keys: list[np.ndarray], rescan: Callable[[], Iterator[RatingChunk]]
) -> list[tuple[int, int, int, int]]:
    """(user, movie, first line, repeated line) for every (user, movie) pair seen twice.

    keys holds pair_keys of every chunk and is emptied on the way, so the peak is two
    copies (400 MB for 25M ratings) for a moment, then one, sorted in place. Line numbers
    are looked up by reading the ratings again, which happens only when there is a repeat.
    """
    if not keys:
        return []
    key = np.concatenate(keys)
    keys.clear()
    key.sort()
    repeated = np.unique(key[1:][key[1:] == key[:-1]])
    del key
    if len(repeated) == 0:
        return []
    first: dict[int, int] = {}
    out = []
    for chunk in rescan():
        chunk_keys = pair_keys(chunk.user, chunk.movie)
        for pos in np.flatnonzero(np.isin(chunk_keys, repeated)):
            k = int(chunk_keys[pos])
            if k in first:
                out.append((k >> 32, k & 0xFFFFFFFF, first[k], int(chunk.line[pos])))
            else:
                first[k] = int(chunk.line[pos])
    return out
