"""Downloading a MovieLens zip from GroupLens (or a mirror), checked before it is kept."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import IO

from django.conf import settings

from movies.importers import MovieLensError
from movies.importing.progress import progress_bar

DATASETS = ("ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m")
DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens"


def movielens_base_url() -> str:
    """GroupLens, or a mirror (tests use a local http.server) from MOVIELENS_BASE_URL."""
    return (
        getattr(settings, "MOVIELENS_BASE_URL", None) or os.environ.get("MOVIELENS_BASE_URL") or DEFAULT_BASE_URL
    ).rstrip("/")


def _fetch(url: str, out: IO[bytes], progress: bool, desc: str) -> str:
    """Stream url into out; return its md5."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http(s) URL we built
        total = int(response.headers.get("Content-Length") or 0)
        with progress_bar(total, desc, progress) as bar:
            while block := response.read(1024 * 1024):
                digest.update(block)
                out.write(block)
                bar.update(len(block))
    return digest.hexdigest()


def movielens_download(*, name: str, dest_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Download NAME.zip from GroupLens (or MOVIELENS_BASE_URL), check it, return its path.

    The md5 GroupLens publishes next to each zip is checked when there is one; the
    file must be a zip whose members pass their CRC. It is written under a temporary
    name and renamed only once checked, so a broken download never looks finished.
    """
    if name not in DATASETS:
        raise MovieLensError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if not re.fullmatch(r"[a-z0-9-]+", name):  # belt and braces: the name becomes a URL and a file name
        raise MovieLensError(f"bad data set name {name!r}")
    dest = Path(dest_dir) if dest_dir else Path(settings.VAR_DIR) / "movielens"
    dest.mkdir(parents=True, exist_ok=True)
    url = f"{movielens_base_url()}/{name}.zip"
    final = dest / f"{name}.zip"
    part = dest / f"{name}.zip.part"
    try:
        with part.open("wb") as out:
            actual = _fetch(url, out, progress, f"{name}.zip")
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    expected = _published_md5(f"{url}.md5")
    if expected is not None and expected != actual:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip: checksum mismatch (md5 {actual}, GroupLens publishes {expected})")
    try:
        with zipfile.ZipFile(part) as archive:
            broken = archive.testzip()
    except zipfile.BadZipFile as exc:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip from {url} is not a valid zip ({exc})") from exc
    if broken is not None:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip: member {broken!r} fails its CRC check")
    shutil.move(part, final)
    return final


def _published_md5(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http(s) URL we built
            text = response.read(4096).decode("ascii", "replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None  # not every release has one; the zip check still runs
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if not match:
        raise MovieLensError(f"{url} holds no md5 checksum")
    return match.group(0).lower()
