"""The L1–L3 background-information library: versioned system prompts with ids.

Each prompt is data (`data/L1.yaml`, ...): id, version, level, incentive, subtype, text. Texts
may use the run's facts as {placeholders}. A published id keeps its meaning: the sha256 of every
published text is in `data/published.json`, and a changed text must carry a new version.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from trainrisk import taxonomy
from trainrisk.datafiles import read_yaml
from trainrisk.errors import DataError, UnknownIdError
from trainrisk.workspace.facts import PLACEHOLDERS, RunFacts

DATA_DIR = Path(__file__).parent / "data"
PROMPT_LEVELS = ("L1", "L2", "L3")
LOCK_FILE = "published.json"
CONTROL_ID = "control"
_ID_RE = re.compile(r"^(L[1-3])\.([a-z_]+)\.([a-z_]+)\.(\d+)$")


@dataclass(frozen=True)
class PromptSpec:
    """One background prompt. `control` is the no-background condition (empty text)."""

    id: str
    version: int
    level: str  # L1 | L2 | L3 | control
    incentive: str | None
    subtype: str | None
    text: str
    source: str = "builtin"

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def sha256(self) -> str:
        return text_hash(self.text)

    @property
    def category(self) -> str | None:
        return taxonomy.category_of(self.subtype) if self.subtype else None

    def render(self, facts: RunFacts) -> str:
        """The text with this rollout's facts filled in."""
        return self.text.format(**facts.placeholders()).strip()


CONTROL = PromptSpec(CONTROL_ID, 1, "control", None, None, "", "builtin")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def placeholders_in(text: str) -> list[str]:
    """Names used as {name}; raises ValueError for malformed braces."""
    names = []
    for _, name, spec, conv in string.Formatter().parse(text):
        if name is None:
            continue
        if not name or spec or conv:
            raise ValueError(f"placeholder {{{name}}} must be a bare name")
        names.append(name)
    return names


def _check_text(text: Any, path: Path, rid: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise DataError(path, "expected a non-empty text", record=rid, field="text")
    try:
        names = placeholders_in(text)
    except ValueError as exc:
        raise DataError(
            path, f"{exc} (write literal braces as {{{{ }}}})", record=rid, field="text"
        ) from None
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        raise DataError(
            path,
            f"unknown placeholder(s) {unknown}; allowed: {', '.join(PLACEHOLDERS)}",
            record=rid,
            field="text",
        )
    return text


def parse_prompt(raw: Any, path: Path, level: str, index: int) -> PromptSpec:
    if not isinstance(raw, dict):
        raise DataError(path, "expected a mapping", record=f"#{index}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise DataError(path, "expected a string id", record=f"#{index}", field="id")
    m = _ID_RE.match(rid)
    if not m:
        raise DataError(path, "expected <level>.<incentive>.<subtype>.<n>", record=rid, field="id")
    for field, valid in (
        ("level", (level,)),
        ("incentive", taxonomy.INCENTIVE_IDS),
        ("subtype", taxonomy.SUBTYPE_IDS),
    ):
        value = raw.get(field)
        if value not in valid:
            raise DataError(
                path, f"{value!r} is not one of: {', '.join(valid)}", record=rid, field=field
            )
    if (m.group(1), m.group(2), m.group(3)) != (raw["level"], raw["incentive"], raw["subtype"]):
        raise DataError(
            path, "the id does not match level, incentive and subtype", record=rid, field="id"
        )
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise DataError(path, "expected a positive integer", record=rid, field="version")
    text = _check_text(raw.get("text"), path, rid)
    return PromptSpec(rid, version, level, raw["incentive"], raw["subtype"], text, str(path))


def _load_lock(data_dir: Path) -> dict[str, str]:
    path = data_dir / LOCK_FILE
    if not path.exists():
        return {}
    try:
        lock = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON: {exc.msg}") from None
    if not isinstance(lock, dict):
        raise DataError(path, "expected an object of id@version -> sha256")
    return lock


class Library:
    """All prompts of a data directory, validated, by id."""

    def __init__(self, prompts: list[PromptSpec], lock: dict[str, str]) -> None:
        self.prompts = {p.id: p for p in prompts}
        self.lock = lock

    def get(self, prompt_id: str) -> PromptSpec:
        if prompt_id == CONTROL_ID:
            return CONTROL
        try:
            return self.prompts[prompt_id]
        except KeyError:
            raise UnknownIdError("prompt", prompt_id, sorted(self.prompts)) from None

    def select(
        self,
        levels: list[str] | None = None,
        incentives: list[str] | None = None,
        subtypes: list[str] | None = None,
        ids: list[str] | None = None,
    ) -> list[PromptSpec]:
        """Prompts matching every given filter, in a stable order."""
        for kind, values, valid in (
            ("level", levels, (*PROMPT_LEVELS, CONTROL_ID)),
            ("incentive", incentives, taxonomy.INCENTIVE_IDS),
            ("subtype", subtypes, taxonomy.SUBTYPE_IDS),
        ):
            for v in values or []:
                taxonomy.check_id(kind, v, valid)
        chosen = [self.get(i) for i in ids] if ids else list(self.prompts.values())
        return [
            p
            for p in chosen
            if (not levels or p.level in levels)
            and (not incentives or p.incentive in incentives)
            and (not subtypes or p.subtype in subtypes)
        ]

    def unpublished(self) -> list[PromptSpec]:
        return [p for p in self.prompts.values() if p.key not in self.lock]


def load_library(data_dir: Path = DATA_DIR) -> Library:
    """Load and validate L1.yaml, L2.yaml, L3.yaml; errors name the file, record and field."""
    lock = _load_lock(data_dir)
    prompts: list[PromptSpec] = []
    seen: dict[str, str] = {}
    for level in PROMPT_LEVELS:
        path = data_dir / f"{level}.yaml"
        raw = read_yaml(path, list, "prompts")
        for i, item in enumerate(raw):
            p = parse_prompt(item, path, level, i)
            if p.id in seen:
                raise DataError(
                    path, f"duplicate id (also in {seen[p.id]})", record=p.id, field="id"
                )
            seen[p.id] = str(path)
            published = lock.get(p.key)
            if published is not None and published != p.sha256:
                raise DataError(
                    path,
                    f"the text changed but version {p.version} is published "
                    f"with other text; publish the change as version "
                    f"{p.version + 1}",
                    record=p.id,
                    field="text",
                )
            prompts.append(p)
    return Library(prompts, lock)


def write_lock(library: Library, data_dir: Path = DATA_DIR) -> list[str]:
    """Publish new ids and versions: add their hashes to the lock (existing ones never change)."""
    added = [p.key for p in library.unpublished()]
    lock = dict(library.lock)
    for p in library.unpublished():
        lock[p.key] = p.sha256
    (data_dir / LOCK_FILE).write_text(json.dumps(dict(sorted(lock.items())), indent=1) + "\n")
    return added


@cache
def default_library() -> Library:
    return load_library()
