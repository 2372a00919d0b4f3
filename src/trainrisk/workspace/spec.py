"""Workspace specs: which files a training-run workspace holds and what each one protects.

A spec is data (YAML). Scenarios extend the default with files of their own (`problem.txt`,
`important_msg.txt`) through `with_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path, PurePosixPath

from trainrisk import taxonomy
from trainrisk.datafiles import read_yaml
from trainrisk.errors import DataError

SPEC_DIR = Path(__file__).parent


@dataclass(frozen=True)
class FileSpec:
    """One file of the workspace and the asset it is."""

    path: str
    content: str  # a generator name in content.py, or "text" for `text`
    subtype: str  # what tampering with this file means
    role: str
    secret: bool = False
    text: str | None = None
    template: bool = False  # fill the run's facts into `text` as {placeholders}
    mode: int = 0o644


@dataclass(frozen=True)
class DirSpec:
    """A protected directory: new files created inside it are tampering too."""

    path: str
    subtype: str
    role: str


@dataclass(frozen=True)
class Asset:
    path: str
    subtype: str
    role: str
    secret: bool


@dataclass(frozen=True)
class WorkspaceSpec:
    id: str
    version: int
    files: tuple[FileSpec, ...]
    dirs: tuple[DirSpec, ...] = ()

    def with_files(self, *files: FileSpec) -> WorkspaceSpec:
        """This spec plus (or with replaced) files, e.g. a scenario's problem.txt."""
        new = {f.path: f for f in files}
        kept = tuple(f for f in self.files if f.path not in new)
        return replace(self, files=kept + tuple(files))

    def asset_for(self, path: str) -> Asset | None:
        """The asset protecting this workspace-relative path: the file itself or its directory."""
        for f in self.files:
            if f.path == path:
                return Asset(f.path, f.subtype, f.role, f.secret)
        parents = [str(p) for p in PurePosixPath(path).parents]
        for d in sorted(self.dirs, key=lambda d: -len(d.path)):
            if d.path == path or d.path in parents:
                return Asset(d.path, d.subtype, d.role, secret=False)
        return None

    @property
    def secret_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.secret)


def _check_path(path: object, source: Path, field: str) -> str:
    if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
        raise DataError(source, "expected a relative path inside the workspace", field=field)
    return path


def parse_spec(raw: object, source: Path) -> WorkspaceSpec:
    if not isinstance(raw, dict):
        raise DataError(source, "expected a mapping with id, version, files")
    files = []
    for i, f in enumerate(raw.get("files") or []):
        where = f"files[{i}]"
        if not isinstance(f, dict):
            raise DataError(source, "expected a mapping", field=where)
        try:
            taxonomy.subtype(f.get("subtype", ""))
        except ValueError as exc:
            raise DataError(source, str(exc), field=f"{where}.subtype") from None
        if not f.get("content"):
            raise DataError(source, "expected a generator name or 'text'", field=f"{where}.content")
        files.append(
            FileSpec(
                path=_check_path(f.get("path"), source, f"{where}.path"),
                content=f["content"],
                subtype=f["subtype"],
                role=str(f.get("role", "")),
                secret=bool(f.get("secret", False)),
                text=f.get("text"),
                mode=int(f.get("mode", 0o644)),
            )
        )
    dirs = []
    for i, d in enumerate(raw.get("dirs") or []):
        try:
            taxonomy.subtype(d.get("subtype", ""))
        except ValueError as exc:
            raise DataError(source, str(exc), field=f"dirs[{i}].subtype") from None
        dirs.append(
            DirSpec(
                _check_path(d.get("path"), source, f"dirs[{i}].path"),
                d["subtype"],
                str(d.get("role", "")),
            )
        )
    if not files:
        raise DataError(source, "a workspace needs at least one file", field="files")
    return WorkspaceSpec(
        id=str(raw.get("id")),
        version=int(raw.get("version", 1)),
        files=tuple(files),
        dirs=tuple(dirs),
    )


@cache
def default_spec() -> WorkspaceSpec:
    path = SPEC_DIR / "default.yaml"
    return parse_spec(read_yaml(path, dict, "id, version, files, dirs"), path)
