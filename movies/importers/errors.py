"""Errors of the MovieLens readers: each one names the file, the line and the value."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BadRow:
    """One rejected line of an input file (line numbers start at 1, as editors show them)."""

    file: str
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        if not self.value:
            return f"{self.file} line {self.line}: {self.reason}"
        value = self.value if len(self.value) <= 120 else self.value[:117] + "..."
        return f"{self.file} line {self.line}: {self.reason}: {value!r}"


class MovieLensError(ValueError):
    """Any input the importer refuses; the message is meant for the operator."""


class BadRowError(MovieLensError):
    """A line of a data file that does not parse or does not validate."""

    def __init__(self, bad: BadRow) -> None:
        super().__init__(str(bad))
        self.bad = bad


class UnsafeArchiveError(MovieLensError):
    """A zip that could write outside its folder or expand to an unreasonable size."""


class LayoutError(MovieLensError):
    """A folder or zip that is not one of the MovieLens layouts."""


class CorruptFileError(MovieLensError):
    """A file of the data set that cannot be read to its end: a zip member failing its CRC, an empty file."""
