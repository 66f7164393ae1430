"""A MovieLens data set on disk: a folder, or a zip checked before anything is read.

GroupLens zips hold one top folder (ml-latest-small/, ml-10M100K/, ...). The root of
a data set is wherever its ratings file lives, so both the zip and an unpacked
folder (or its parent) work.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from movies.importers.errors import CorruptFileError, LayoutError, UnsafeArchiveError

# The files whose presence marks the root of a data set (and its layout).
RATINGS_FILES = ("ratings.csv", "ratings.dat", "u.data")

# ml-32m unpacks to under 1 GB; 8 GiB leaves room for bigger releases and stops a zip bomb.
MAX_TOTAL_UNCOMPRESSED = 8 * 1024**3
# Text compresses 3-6x; a ratio of hundreds means padding built to exhaust the disk or memory.
MAX_COMPRESSION_RATIO = 100
# Tiny members compress oddly (a header line, an empty file); the ratio check starts above this.
RATIO_CHECK_MIN_SIZE = 1024 * 1024


class Source:
    """Read access to the files of one data set, by name relative to its root."""

    def __init__(self, label: str, names: list[str]) -> None:
        self.label = label
        self.names = names

    @property
    def name(self) -> str:
        """The data set's name as GroupLens spells it, e.g. 'ml-latest-small'."""
        return self.label

    def has(self, name: str) -> bool:
        return name in self.names

    def size(self, name: str) -> int:
        raise NotImplementedError

    def open(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def close(self) -> None:
        return None


class FolderSource(Source):
    def __init__(self, root: Path) -> None:
        self.root = root
        # A symbolic link could make the importer read (and its errors quote) any file the
        # operator can read, such as /etc/passwd: only the folder's own files are data.
        links = sorted(p.name for p in root.iterdir() if p.is_symlink())
        if links:
            raise UnsafeArchiveError(
                f"{root}: {', '.join(links)} {'is a symbolic link' if len(links) == 1 else 'are symbolic links'}; "
                "copy the files themselves into the folder"
            )
        super().__init__(root.name, sorted(p.name for p in root.iterdir() if p.is_file()))

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size

    def open(self, name: str) -> BinaryIO:
        # O_NOFOLLOW: a link put in place after the check above is refused too.
        try:
            fd = os.open(self.root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise UnsafeArchiveError(f"{self.root / name}: cannot open it ({exc.strerror})") from exc
        return os.fdopen(fd, "rb")


class ZipSource(Source):
    def __init__(self, path: Path, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.prefix = prefix
        self.infos = {
            info.filename[len(prefix) :]: info
            for info in archive.infolist()
            if not info.is_dir() and info.filename.startswith(prefix) and "/" not in info.filename[len(prefix) :]
        }
        label = prefix.rstrip("/").rsplit("/", 1)[-1] if prefix else path.stem
        super().__init__(label, sorted(self.infos))

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def open(self, name: str) -> BinaryIO:
        # ZipExtFile stops at the declared size and checks the CRC at the end,
        # so a member cannot produce more bytes than the checks below allowed.
        member = _MemberStream(self.archive.open(self.infos[name]), f"{self.label}.zip: {name}")
        return io.BufferedReader(member, buffer_size=1024 * 1024)  # type: ignore[return-value]

    def close(self) -> None:
        self.archive.close()


class _MemberStream(io.RawIOBase):
    """A zip member whose corruption (bad CRC, sizes that lie, broken deflate data) is a
    MovieLensError naming the member, not a traceback from zipfile or zlib."""

    def __init__(self, inner: BinaryIO, label: str) -> None:
        self._inner = inner
        self._label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise CorruptFileError(f"{self._label} is corrupt in the zip ({exc})") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def check_zip_members(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse members that escape the folder and archives that expand without bound."""
    total = 0
    for info in infos:
        name = info.filename
        posix = name.replace("\\", "/")
        if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
            raise UnsafeArchiveError(f"{path.name}: member {name!r} has an absolute path; refusing the zip")
        if ".." in PurePosixPath(posix).parts:
            raise UnsafeArchiveError(f"{path.name}: member {name!r} points outside the archive ('..')")
        total += info.file_size
        if info.file_size > RATIO_CHECK_MIN_SIZE and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UnsafeArchiveError(
                f"{path.name}: member {name!r} expands {ratio:,.0f}x "
                f"({info.compress_size:,} to {info.file_size:,} bytes); refusing a likely zip bomb"
            )
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise UnsafeArchiveError(
            f"{path.name}: members add up to {total:,} bytes uncompressed, "
            f"over the limit of {MAX_TOTAL_UNCOMPRESSED:,}; refusing a likely zip bomb"
        )


def _zip_root(path: Path, names: list[str]) -> str:
    roots = sorted(
        (name.count("/"), name.rsplit("/", 1)[0] + "/" if "/" in name else "")
        for name in names
        if name.rsplit("/", 1)[-1] in RATINGS_FILES
    )
    if not roots:
        raise LayoutError(f"{path.name}: no MovieLens ratings file ({', '.join(RATINGS_FILES)}) in the zip")
    return roots[0][1]


def _folder_root(path: Path) -> Path:
    if any((path / name).is_file() for name in RATINGS_FILES):
        return path
    # An unpacked zip: the data sits one folder down (ml-25m/ml-25m/ratings.csv).
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        if any((child / name).is_file() for name in RATINGS_FILES):
            return child
    raise LayoutError(f"{path}: no MovieLens ratings file ({', '.join(RATINGS_FILES)}) in the folder")


@contextmanager
def open_source(path: str | os.PathLike[str]) -> Iterator[Source]:
    """Open a folder or a zip as a Source; zips are checked for unsafe members first."""
    path = Path(path)
    if path.is_dir():
        yield FolderSource(_folder_root(path))
        return
    if not path.is_file():
        raise LayoutError(f"{path}: no such file or folder")
    if not zipfile.is_zipfile(path):
        raise LayoutError(f"{path}: neither a folder nor a zip file")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise LayoutError(f"{path}: not a valid zip ({exc})") from exc
    try:
        infos = archive.infolist()
        check_zip_members(path, infos)
        source = ZipSource(path, archive, _zip_root(path, [i.filename for i in infos if not i.is_dir()]))
        yield source
    finally:
        archive.close()
