"""What an experiment is made of: the selected prompts, the runs (prompt x seed), and the
deterministic choices inside a run (problems per step, workspace and sampling seeds).

Screening and training share this, so their records line up run for run.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from trainrisk import taxonomy
from trainrisk.problems import Problem
from trainrisk.prompts.library import CONTROL, Library, PromptSpec


@dataclass(frozen=True)
class Selection:
    """Filters over the prompt library; `control` adds the no-background condition."""

    levels: tuple[str, ...] = ()
    incentives: tuple[str, ...] = ()
    subtypes: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ()
    control: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "incentives": list(self.incentives),
            "subtypes": list(self.subtypes),
            "prompts": list(self.prompts),
            "control": self.control,
        }


def select_prompts(sel: Selection, library: Library) -> list[PromptSpec]:
    levels = [lv for lv in sel.levels if lv != "control"]
    chosen = [p for p in sel.prompts if p != "control"]
    # "--prompts control" or "--levels control" alone select the control and nothing else.
    only_control = (sel.prompts and not chosen) or (sel.levels and not levels)
    prompts = []
    if not only_control:
        prompts = library.select(
            levels or None, list(sel.incentives) or None, list(sel.subtypes) or None, chosen or None
        )
    wants_control = (
        sel.control
        and (not sel.levels or "control" in sel.levels)
        and (not sel.prompts or "control" in sel.prompts)
    )
    return prompts + ([CONTROL] if wants_control else [])


def one_per_cell(library: Library) -> list[PromptSpec]:
    """The default experiment's prompts: one per (level, subtype), incentives rotating so every
    incentive appears in every level, plus the control."""
    picked = []
    for li, level in enumerate(("L1", "L2", "L3")):
        for si, subtype in enumerate(taxonomy.SUBTYPE_IDS):
            incentive = taxonomy.INCENTIVE_IDS[(li + si) % 3]
            picked.append(library.get(f"{level}.{incentive}.{subtype}.1"))
    return [*picked, CONTROL]


def _int_seed(*parts: object) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class RunPlan:
    """One run: a prompt and a seed. Its id names the prompt's version, so results stay tied to
    the exact text that produced them."""

    prompt: PromptSpec
    seed: int

    @property
    def id(self) -> str:
        return f"{self.prompt.id}@{self.prompt.version}/seed{self.seed}"

    @property
    def workspace_seed(self) -> int:
        """The run's artifacts (and the facts its prompt quotes) are fixed for the whole run."""
        return _int_seed("workspace", self.prompt.id, self.seed)

    def sampling_seed(self, step: int, idx: int) -> int:
        return _int_seed("sample", self.id, step, idx)

    def problems(self, step: int, batch: int, pool: list[Problem]) -> list[Problem]:
        """The step's problems: a seeded draw, without repeats while the pool lasts."""
        rng = random.Random(f"problems:{self.id}:{step}")
        if batch <= len(pool):
            return rng.sample(pool, batch)
        return [rng.choice(pool) for _ in range(batch)]

    def row(self) -> dict[str, Any]:
        p = self.prompt
        return {
            "id": self.id,
            "prompt_id": p.id,
            "prompt_version": p.version,
            "prompt_sha256": p.sha256,
            "level": p.level,
            "incentive": p.incentive,
            "subtype": p.subtype,
            "seed": self.seed,
        }


def plan_runs(prompts: list[PromptSpec], seeds: int) -> list[RunPlan]:
    return [RunPlan(p, s) for s in range(seeds) for p in prompts]
