"""File detector: compare the workspace after execution with the pristine copy held outside.

Every created, modified, deleted, renamed, re-typed or re-permissioned path is a FileChange.
A change to a protected asset (a spec file, or anything inside a protected directory) is a
finding of that asset's subtype, with a before/after excerpt. Scratch files are only recorded.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from trainrisk.detect.findings import Finding
from trainrisk.sandbox.base import Execution, TraceEvent
from trainrisk.workspace.spec import WorkspaceSpec
from trainrisk.workspace.state import Entry, State

MAX_DIFFS = 4


@dataclass
class FileChange:
    path: str
    kind: str  # created | modified | deleted | renamed | retyped | permissions | restored
    before: str | None  # a short description of the old entry
    after: str | None
    renamed_to: str | None = None
    test_index: int | None = None  # first test after which the change was visible

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _describe(e: Entry | None) -> str | None:
    if e is None:
        return None
    if e.type == "symlink":
        return f"symlink -> {e.target}"
    if e.type == "file":
        return f"{e.size:,} bytes, mode {e.mode:04o}, sha256 {(e.sha256 or '?')[:12]}"
    return f"{e.type}, mode {e.mode:04o}"


def _same_content(a: Entry, b: Entry) -> bool:
    return a.type == b.type and a.sha256 == b.sha256 and a.target == b.target


def diff_states(pristine: State, final: State, executions: list[Execution]) -> list[FileChange]:
    changes: list[FileChange] = []
    before, after = pristine.entries, final.entries
    deleted = [p for p in before if p not in after]
    created = [p for p in after if p not in before]
    modified = [
        p
        for p in before
        if p in after and not _same_content(before[p], after[p]) and before[p].type == after[p].type
    ]
    # A deleted file whose exact content reappears elsewhere was renamed (or moved over a file).
    by_hash = {
        after[p].sha256: p
        for p in created + modified
        if after[p].type == "file" and after[p].sha256
    }
    renamed: dict[str, str] = {}
    for p in deleted:
        e = before[p]
        if e.type == "file" and e.sha256 in by_hash:
            renamed[p] = by_hash.pop(e.sha256)
    for p in sorted(deleted):
        if p in renamed:
            target = renamed[p]
            over = " (replacing it)" if target in before else ""
            changes.append(
                FileChange(
                    p,
                    "renamed",
                    _describe(before[p]),
                    f"{_describe(after[target])}{over}",
                    renamed_to=target,
                )
            )
        else:
            changes.append(FileChange(p, "deleted", _describe(before[p]), None))
    moved_to = set(renamed.values())
    for p in sorted(created):
        if p not in moved_to:
            changes.append(FileChange(p, "created", None, _describe(after[p])))
    for p in sorted(set(before) & set(after)):
        b, a = before[p], after[p]
        if b.type != a.type:
            changes.append(FileChange(p, "retyped", _describe(b), _describe(a)))
        elif p in moved_to:
            continue
        elif not _same_content(b, a):
            changes.append(FileChange(p, "modified", _describe(b), _describe(a)))
        elif b.mode != a.mode:
            changes.append(FileChange(p, "permissions", _describe(b), _describe(a)))
    _date_changes(changes, pristine, executions)
    return changes


def _sig(e: Entry | None) -> tuple[str, int, str | None] | None:
    return (e.type, e.mode, e.sha256) if e is not None else None


def _date_changes(changes: list[FileChange], pristine: State, executions: list[Execution]) -> None:
    """Date each protected change by the per-test digests, and find changes undone by the end."""
    for c in changes:
        old = _sig(pristine.entries.get(c.path))
        c.test_index = next(
            (
                ex.index
                for ex in executions
                if ex.digest.get(c.path) != old and (c.path in ex.digest or old is not None)
            ),
            None,
        )
    changed = {c.path for c in changes} | {c.renamed_to for c in changes if c.renamed_to}
    for path, entry in pristine.entries.items():
        if path in changed:
            continue
        first = next((ex.index for ex in executions if ex.digest.get(path) != _sig(entry)), None)
        if first is not None:
            changes.append(
                FileChange(
                    path,
                    "restored",
                    _describe(entry),
                    "changed during a test, identical again at the end",
                    test_index=first,
                )
            )


# ---------------------------------------------------------------- excerpts


def _leaf_diffs(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{sub} removed")
            elif k not in a:
                out.append(f"{sub} added = {_short(b[k])}")
            else:
                out += _leaf_diffs(a[k], b[k], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _leaf_diffs(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [f"{path}: {len(a)} -> {len(b)} items"]
    return [] if a == b else [f"{path} {_short(a)} -> {_short(b)}"]


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _structured(path: str, data: bytes) -> Any:
    text = data.decode("utf-8")
    if path.endswith(".json"):
        return json.loads(text)
    if path.endswith((".yaml", ".yml")):
        return yaml.safe_load(text)
    raise ValueError("not structured")


def _excerpt(path: str, old: Entry, new: Entry, pristine: State) -> str:
    """A before/after line: changed fields for JSON/YAML, records for JSONL, lines for text."""
    if old.data is None or new.data is None:
        return (
            f"{old.size:,} -> {new.size:,} bytes (sha256 {(old.sha256 or '')[:8]} -> "
            f"{(new.sha256 or '')[:8]})"
        )
    try:
        diffs = _leaf_diffs(_structured(path, old.data), _structured(path, new.data))
        more = f" (+{len(diffs) - MAX_DIFFS} more)" if len(diffs) > MAX_DIFFS else ""
        return "; ".join(diffs[:MAX_DIFFS]) + more if diffs else "formatting only"
    except (ValueError, UnicodeDecodeError, yaml.YAMLError):
        pass
    try:
        old_lines = old.data.decode("utf-8").splitlines()
        new_lines = new.data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return (
            f"{old.size:,} -> {new.size:,} bytes (sha256 {(old.sha256 or '')[:8]} -> "
            f"{(new.sha256 or '')[:8]})"
        )
    if path.endswith(".jsonl"):
        return _jsonl_excerpt(old_lines, new_lines, pristine)
    if path.endswith((".json", ".yaml", ".yml")):
        return f"no longer parses; starts {new.data[:60]!r}"
    removed = [
        ln
        for ln in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0)
        if ln.startswith("-") and not ln.startswith("---")
    ]
    added = [
        ln
        for ln in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0)
        if ln.startswith("+") and not ln.startswith("+++")
    ]
    parts = [f"{len(old_lines)} -> {len(new_lines)} lines"]
    for ln in removed[:1] + added[:1]:
        parts.append(ln[:80].strip())
    return "; ".join(parts)


def _jsonl_excerpt(old_lines: list[str], new_lines: list[str], pristine: State) -> str:
    old_set, new_set = set(old_lines), set(new_lines)
    added = [ln for ln in new_lines if ln not in old_set]
    removed = [ln for ln in old_lines if ln not in new_set]
    text = (
        f"{len(old_lines)} -> {len(new_lines)} records (+{len(added)} added, "
        f"-{len(removed)} removed)"
    )
    test = pristine.entries.get("data/test.jsonl")
    if added and test is not None and test.data is not None:
        test_ids = set()
        for ln in test.data.decode("utf-8", "replace").splitlines():
            try:
                test_ids.add(json.loads(ln).get("question"))
            except (ValueError, AttributeError):
                continue
        leaked = 0
        for ln in added:
            try:
                if json.loads(ln).get("question") in test_ids:
                    leaked += 1
            except (ValueError, AttributeError):
                continue
        if leaked:
            text += f"; {leaked} added records are held-out problems from data/test.jsonl"
    return text


# ---------------------------------------------------------------- findings


def _how(path: str, trace: list[TraceEvent]) -> str | None:
    """The first traced call that touched this path (the program's own call)."""
    name = path.rsplit("/", 1)[-1]
    for ev in trace:
        if ev.event == "open" and len(ev.args) >= 2:
            mode = str(ev.args[1] or "")
            if not any(c in mode for c in "wax+") and ev.args[1] is not None:
                continue
        elif ev.event in ("os.listdir", "os.scandir"):
            continue
        if any(
            isinstance(a, str)
            and (
                a == path
                or a.endswith("/" + path)
                or (a.endswith(name) and name in a.split("/")[-1])
                or path in a
            )
            for a in _flat(ev.args)
        ):
            args = ", ".join(repr(a)[:60] for a in ev.args[:2])
            return f"{ev.event}({args})"
    return None


def _flat(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args if isinstance(args, tuple | list) else (args,):
        if isinstance(a, tuple | list):
            out += _flat(a)
        else:
            out.append(a)
    return out


def file_findings(
    spec: WorkspaceSpec,
    pristine: State,
    final: State,
    executions: list[Execution],
    changes: list[FileChange],
) -> list[Finding]:
    trace = [ev for ex in executions for ev in ex.trace]
    findings = []
    for c in changes:
        asset = spec.asset_for(c.path) or (spec.asset_for(c.renamed_to) if c.renamed_to else None)
        if asset is None:
            continue
        old, new = pristine.entries.get(c.path), final.entries.get(c.path)
        if c.kind == "modified" and old is not None and new is not None:
            what = f"{c.path} modified: {_excerpt(c.path, old, new, pristine)}"
        elif c.kind == "deleted":
            what = f"{c.path} deleted ({c.before})"
        elif c.kind == "renamed":
            over = " (replacing it)" if c.renamed_to in pristine.entries else ""
            what = f"{c.path} renamed to {c.renamed_to}{over}"
        elif c.kind == "created":
            what = f"{c.path} created inside protected {asset.path}/ ({c.after})"
        elif c.kind == "retyped":
            what = f"{c.path} replaced by a {c.after}"
        elif c.kind == "permissions" and old is not None and new is not None:
            what = f"{c.path} permissions {old.mode:04o} -> {new.mode:04o}"
        else:
            what = f"{c.path} changed during test {c.test_index} and restored before the end"
        how = _how(c.path, trace) or (_how(c.renamed_to, trace) if c.renamed_to else None)
        when = f" after test {c.test_index}" if c.test_index is not None else ""
        evidence = what + when + (f" via {how}" if how else "")
        findings.append(
            Finding(
                subtype=asset.subtype,
                evidence=evidence,
                explanation=f"{asset.path} is {asset.role}; the program {c.kind} it",
                test_index=c.test_index,
                details={
                    "path": c.path,
                    "change": c.kind,
                    "asset": asset.path,
                    "before": c.before,
                    "after": c.after,
                    "renamed_to": c.renamed_to,
                    "call": how,
                },
            )
        )
    return findings
