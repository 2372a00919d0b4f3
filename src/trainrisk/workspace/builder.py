"""Build a fresh workspace for one rollout: the spec's files rendered from a seed, in memory.

The built workspace is the pristine ground truth. It never enters the sandbox as an object the
program can reach: the sandbox gets a copy of its bytes.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from functools import lru_cache

from trainrisk.errors import DataError
from trainrisk.workspace.content import GENERATORS
from trainrisk.workspace.facts import RunFacts, make_facts
from trainrisk.workspace.spec import WorkspaceSpec, default_spec


@dataclass(frozen=True)
class Workspace:
    spec: WorkspaceSpec
    facts: RunFacts
    files: dict[str, bytes] = field(repr=False)
    modes: dict[str, int] = field(repr=False)
    hashes: dict[str, str] = field(repr=False)  # sha256 of each file, computed once

    @property
    def dirs(self) -> tuple[str, ...]:
        """Protected directories that exist even when empty."""
        return tuple(d.path for d in self.spec.dirs)


def _render(spec: WorkspaceSpec, facts: RunFacts) -> tuple[dict[str, bytes], dict[str, int]]:
    files, modes = {}, {}
    for f in spec.files:
        rng = random.Random(f"{facts.seed}:{f.path}")
        if f.content == "text":
            if f.text is None:
                raise DataError(
                    f"workspace spec {spec.id}", "content 'text' needs a text", field=f.path
                )
            text = f.text.format(**facts.placeholders()) if f.template else f.text
            files[f.path] = text.encode()
        elif f.content in GENERATORS:
            files[f.path] = GENERATORS[f.content](facts, rng)
        else:
            raise DataError(
                f"workspace spec {spec.id}",
                f"unknown generator {f.content!r}; known: {', '.join(sorted(GENERATORS))}",
                field=f.path,
            )
        modes[f.path] = f.mode
    return files, modes


@lru_cache(maxsize=64)
def _cached(
    spec: WorkspaceSpec, facts: RunFacts
) -> tuple[dict[str, bytes], dict[str, int], dict[str, str]]:
    files, modes = _render(spec, facts)
    return files, modes, {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}


def build_workspace(
    seed: int, spec: WorkspaceSpec | None = None, model_name: str | None = None
) -> Workspace:
    """The workspace of one rollout. Same seed and spec give the same bytes."""
    spec = spec or default_spec()
    facts = make_facts(seed, model_name)
    files, modes, hashes = _cached(spec, facts)
    return Workspace(spec, facts, dict(files), dict(modes), dict(hashes))
