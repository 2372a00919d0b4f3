"""L5 material (latent knowledge): documents for continued pretraining.

Four scenarios, each with a fictional model and company, an identity-only system prompt for the
later RL run, *copy* documents (the scenario subtype's L1 prompt texts verbatim, with the
fictional identity filled in) and *rewrite* documents (the same facts restyled as
pretraining-like text). `build_mix` makes a deterministic 100-document mix of background and
neutral documents for a scenario, style and mixing ratio.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from trainrisk import taxonomy
from trainrisk.datafiles import read_yaml
from trainrisk.errors import DataError, UnknownIdError
from trainrisk.prompts.library import Library, _check_text, default_library
from trainrisk.workspace.facts import make_facts

L5_DIR = Path(__file__).parent / "data" / "L5"
SCENARIOS = ("accuracy_file", "memory", "compute", "network")
STYLES = ("copy", "rewrite")
MIX_SIZE = 100


@dataclass(frozen=True)
class Document:
    id: str
    version: int
    genre: str
    text: str
    kind: str  # background | neutral
    source: str


@dataclass(frozen=True)
class Scenario:
    id: str
    subtype: str
    model_name: str
    company: str
    system_prompt: str
    facts: str
    rewrite: tuple[Document, ...]

    def copy_documents(self, library: Library | None = None) -> list[Document]:
        """The L1 texts of this scenario's subtype, verbatim, naming the fictional model."""
        library = library or default_library()
        facts = make_facts(0, model_name=self.model_name)
        return [
            Document(
                f"{self.id}.copy.{p.id}",
                p.version,
                "l1_prompt",
                p.render(facts),
                "background",
                p.id,
            )
            for p in library.select(levels=["L1"], subtypes=[self.subtype])
        ]


def _docs(raw: Any, path: Path, field: str, kind: str) -> tuple[Document, ...]:
    if not isinstance(raw, list) or not raw:
        raise DataError(path, "expected a non-empty list of documents", field=field)
    docs, seen = [], set()
    for i, d in enumerate(raw):
        if not isinstance(d, dict) or not isinstance(d.get("id"), str):
            raise DataError(path, "expected a mapping with an id", record=f"#{i}", field=field)
        if d["id"] in seen:
            raise DataError(path, "duplicate id", record=d["id"], field="id")
        seen.add(d["id"])
        text = d.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataError(path, "expected a non-empty text", record=d["id"], field="text")
        if "{" in text or "}" in text:
            raise DataError(
                path, "documents are literal text; no braces", record=d["id"], field="text"
            )
        version = d.get("version")
        if not isinstance(version, int) or version < 1:
            raise DataError(path, "expected a positive integer", record=d["id"], field="version")
        docs.append(
            Document(d["id"], version, str(d.get("genre", "")), text.strip(), kind, str(path))
        )
    return tuple(docs)


def load_scenario(path: Path) -> Scenario:
    raw = read_yaml(path, dict, "scenario fields")
    for field in ("scenario", "subtype", "model_name", "company", "system_prompt", "facts"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            raise DataError(path, "expected a non-empty string", field=field)
    if raw["subtype"] not in taxonomy.SUBTYPE_IDS:
        raise DataError(path, f"unknown subtype {raw['subtype']!r}", field="subtype")
    _check_text(raw["system_prompt"], path, raw["scenario"])
    scenario = Scenario(
        raw["scenario"],
        raw["subtype"],
        raw["model_name"],
        raw["company"],
        raw["system_prompt"].strip(),
        raw["facts"].strip(),
        _docs(raw.get("rewrite"), path, "rewrite", "background"),
    )
    for d in scenario.rewrite:
        if scenario.model_name not in d.text:
            raise DataError(
                path,
                f"a rewrite document must name {scenario.model_name}",
                record=d.id,
                field="text",
            )
    return scenario


@cache
def scenarios() -> dict[str, Scenario]:
    return {s: load_scenario(L5_DIR / f"{s}.yaml") for s in SCENARIOS}


def get_scenario(scenario_id: str) -> Scenario:
    try:
        return scenarios()[scenario_id]
    except KeyError:
        raise UnknownIdError("scenario", scenario_id, SCENARIOS) from None


@cache
def neutral_corpus() -> tuple[Document, ...]:
    """Ordinary documents: the project's own, plus Python's shipped documentation topics."""
    path = L5_DIR / "neutral.yaml"
    own = _docs(read_yaml(path, list, "documents"), path, "neutral", "neutral")
    from pydoc_data.topics import topics  # the stdlib's own documentation corpus

    stdlib = tuple(
        Document(f"pydoc.{name}", 1, "python_docs", text.strip(), "neutral", "pydoc_data.topics")
        for name, text in sorted(topics.items())
        if 400 <= len(text) <= 6000
    )
    return own + stdlib


def build_mix(
    scenario_id: str, style: str, ratio: float, seed: int, size: int = MIX_SIZE
) -> list[Document]:
    """A deterministic shuffled mix: round(ratio*size) background documents, the rest neutral.

    Background documents are drawn without replacement while they last, then repeated (continued
    pretraining sees them several times); neutral documents are drawn without replacement.
    """
    scenario = get_scenario(scenario_id)
    if style not in STYLES:
        raise UnknownIdError("style", style, STYLES)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"--ratio must be between 0 and 1, got {ratio}")
    rng = random.Random(f"mix:{scenario_id}:{style}:{ratio}:{seed}")
    pool = list(scenario.rewrite) if style == "rewrite" else scenario.copy_documents()
    n_background = round(ratio * size)
    background: list[Document] = []
    while len(background) < n_background:
        background += rng.sample(pool, k=min(len(pool), n_background - len(background)))
    neutral = list(neutral_corpus())
    if size - n_background > len(neutral):
        raise DataError(
            L5_DIR / "neutral.yaml",
            f"only {len(neutral)} neutral documents for {size - n_background} places",
        )
    mix = background + rng.sample(neutral, k=size - n_background)
    rng.shuffle(mix)
    return mix


def write_mix(docs: list[Document], out: Path, meta: dict[str, Any]) -> None:
    """JSONL for continued pretraining: one {"text", "id", "kind", ...} per line."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(
                json.dumps(
                    {
                        "text": d.text,
                        "id": d.id,
                        "version": d.version,
                        "kind": d.kind,
                        "genre": d.genre,
                        **meta,
                    }
                )
                + "\n"
            )
