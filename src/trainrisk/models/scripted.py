"""A scripted policy: replays given completions. For tests and for re-judging recorded ones."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.models.base import Generation, Message, Policy, SamplingParams


class ScriptedPolicy(Policy):
    """Answers with queued completions in order, cycling when `cycle` is set.

    `history` records every conversation it was asked to complete.
    """

    name = "scripted"

    def __init__(
        self, completions: list[str] | None = None, cycle: bool = True, source: str = "inline"
    ) -> None:
        self.queue = list(completions or [])
        self.cycle = cycle
        self.source = source
        self.position = 0
        self.history: list[list[Message]] = []

    def enqueue(self, *completions: str) -> None:
        self.queue.extend(completions)

    def _next(self) -> str:
        if not self.queue:
            raise TrainriskError("the scripted model has no completions queued")
        if self.position >= len(self.queue):
            if not self.cycle:
                raise TrainriskError(
                    f"the scripted model ran out of completions ({len(self.queue)} queued)"
                )
            self.position = 0
        text = self.queue[self.position]
        self.position += 1
        return text

    def generate_iter(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> Iterator[tuple[int, Generation]]:
        for i, conv in enumerate(conversations):
            t0 = time.perf_counter()
            self.history.append(conv)
            text = self._next()
            yield i, Generation(text, len(text.split()), 0, "stop", time.perf_counter() - t0)

    def describe(self) -> dict[str, Any]:
        return {"backend": "scripted", "source": self.source, "completions": len(self.queue)}

    @classmethod
    def from_path(cls, path: str) -> ScriptedPolicy:
        """A .jsonl file of {"completion": ...} (or of strings), a text file, or a folder of
        .md/.txt files (sorted by name)."""
        p = Path(path)
        if p.is_dir():
            files = sorted(x for x in p.iterdir() if x.suffix in (".md", ".txt"))
            if not files:
                raise TrainriskError(f"scripted:{path}: no .md or .txt completions in folder")
            return cls([f.read_text() for f in files], source=str(p))
        if not p.is_file():
            raise TrainriskError(f"scripted:{path}: no such file or folder")
        if p.suffix == ".jsonl":
            texts = []
            for n, line in enumerate(p.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrainriskError(f"{p}, line {n}: not valid JSON: {exc.msg}") from None
                text = rec.get("completion") if isinstance(rec, dict) else rec
                if not isinstance(text, str):
                    raise TrainriskError(f"{p}, line {n}, field 'completion': expected a string")
                texts.append(text)
            return cls(texts, source=str(p))
        return cls([p.read_text()], source=str(p))
