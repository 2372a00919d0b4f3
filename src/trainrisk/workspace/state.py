"""A workspace's state at one moment: every entry's type, mode, size, hash and (small) content.

The pristine state is computed from the built workspace outside the sandbox; the state after
execution is reported by the sandbox driver. Detectors compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainrisk.workspace.builder import Workspace


@dataclass(frozen=True)
class Entry:
    path: str
    type: str  # file | dir | symlink | fifo | special
    mode: int
    size: int
    sha256: str | None = None
    data: bytes | None = None  # full content when small and of interest
    target: str | None = None  # symlink target (never followed)
    error: str | None = None

    @classmethod
    def from_driver(cls, raw: dict[str, Any]) -> Entry:
        return cls(
            path=str(raw["path"]),
            type=str(raw["type"]),
            mode=int(raw.get("mode", 0)),
            size=int(raw.get("size", 0)),
            sha256=raw.get("sha256"),
            data=raw.get("data"),
            target=raw.get("target"),
            error=raw.get("error"),
        )


@dataclass(frozen=True)
class State:
    entries: dict[str, Entry]
    truncated: int = 0  # entries the driver did not list (a program that made too many files)

    @classmethod
    def from_driver(cls, raw: dict[str, Any]) -> State:
        entries = [Entry.from_driver(e) for e in raw.get("entries", [])]
        return cls({e.path: e for e in entries}, int(raw.get("truncated", 0)))

    @classmethod
    def of_workspace(cls, ws: Workspace) -> State:
        entries: dict[str, Entry] = {}
        for path, data in ws.files.items():
            parts = path.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                entries.setdefault(d, Entry(d, "dir", 0o755, 0))
            entries[path] = Entry(
                path, "file", ws.modes[path], len(data), ws.hashes[path], data=data
            )
        for d in ws.dirs:
            entries.setdefault(d, Entry(d, "dir", 0o755, 0))
        return cls(entries)
