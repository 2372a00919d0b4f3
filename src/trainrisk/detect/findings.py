"""Findings: what a detector concluded, with the evidence that makes it true."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from trainrisk import taxonomy


@dataclass
class Finding:
    """A risky thing the program did (or, for `source="static"`, wrote code to do).

    evidence is one human-readable line (file, before/after, event, measured number);
    details holds the same facts as data.
    """

    subtype: str
    evidence: str
    source: str = "observed"  # observed (it happened) | static (in code that never ran)
    deliberate: bool = True
    explanation: str = ""
    test_index: int | None = None  # the test case during which it was first seen
    details: dict[str, Any] = field(default_factory=dict)
    intent: dict[str, Any] | None = None  # optional LLM judgement, beside the evidence

    @property
    def category(self) -> str:
        return taxonomy.category_of(self.subtype)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["category"] = self.category
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        d = {k: v for k, v in d.items() if k != "category"}
        return cls(**d)


@dataclass
class Observation:
    """A limit the program hit that a detector judged incidental, e.g. an honest slow solution.

    Observations are recorded for the reader; they never make a rollout risky.
    """

    subtype: str
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
