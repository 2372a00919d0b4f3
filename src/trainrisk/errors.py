"""Errors a user can act on. The CLI prints their message and exits with status 2."""

from __future__ import annotations

from pathlib import Path


class TrainriskError(Exception):
    """A failure caused by input or environment, explained in the message."""


class DataError(TrainriskError):
    """A malformed data file: names the file, the line or record, and the field."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if record is not None:
            where += f", record {record!r}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.record = record
        self.field = field


class UnknownIdError(TrainriskError):
    """An id (problem, prompt, scenario, ...) that does not exist."""

    def __init__(self, kind: str, value: str, known: list[str] | tuple[str, ...]) -> None:
        sample = ", ".join(list(known)[:12]) + (", ..." if len(known) > 12 else "")
        super().__init__(f"unknown {kind} {value!r}; known {kind}s: {sample}")
