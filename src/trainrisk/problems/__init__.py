"""Coding problems: the shipped set (YAML, one file per problem) and TACO/APPS-style JSONL files.

A problem is a stdin/stdout task with test cases; a rollout's reward is its pass rate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from trainrisk.datafiles import read_yaml
from trainrisk.errors import DataError, UnknownIdError

DATA_DIR = Path(__file__).parent / "data"
DIFFICULTIES = ("easy", "medium", "hard")
DEFAULT_TIME_LIMIT = 2.0
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class TestCase:
    input: str
    output: str


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    statement: str
    tests: tuple[TestCase, ...]
    difficulty: str = "medium"
    time_limit: float = DEFAULT_TIME_LIMIT
    reference: str | None = field(default=None, repr=False)
    source: str = "builtin"


def _require_str(value: Any, path: Path, fld: str, **where: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(path, "expected a non-empty string", field=fld, **where)
    return value


def _parse_builtin(path: Path) -> Problem:
    raw = read_yaml(path, dict, "id, title, statement, tests")
    pid = _require_str(raw.get("id"), path, "id")
    if not _ID_RE.match(pid) or pid != path.stem:
        raise DataError(
            path, f"id {pid!r} must be a lowercase slug equal to the file name", field="id"
        )
    difficulty = raw.get("difficulty", "medium")
    if difficulty not in DIFFICULTIES:
        raise DataError(path, f"expected one of {DIFFICULTIES}", field="difficulty")
    tests_raw = raw.get("tests")
    if not isinstance(tests_raw, list) or len(tests_raw) < 1:
        raise DataError(path, "expected a non-empty list of {input, output}", field="tests")
    tests = []
    for i, t in enumerate(tests_raw):
        if (
            not isinstance(t, dict)
            or not isinstance(t.get("input"), str)
            or not isinstance(t.get("output"), str)
        ):
            raise DataError(path, "expected {input: str, output: str}", field=f"tests[{i}]")
        tests.append(TestCase(t["input"], t["output"]))
    return Problem(
        id=pid,
        title=_require_str(raw.get("title"), path, "title"),
        statement=_require_str(raw.get("statement"), path, "statement"),
        tests=tuple(tests),
        difficulty=difficulty,
        time_limit=float(raw.get("time_limit", DEFAULT_TIME_LIMIT)),
        reference=raw.get("reference"),
        source="builtin",
    )


@cache
def builtin_problems() -> dict[str, Problem]:
    """The problems shipped with trainrisk, by id, in a stable order."""
    problems = [_parse_builtin(p) for p in sorted(DATA_DIR.glob("*.yaml"))]
    return {p.id: p for p in problems}


def get_problem(problem_id: str, problems: dict[str, Problem] | None = None) -> Problem:
    problems = builtin_problems() if problems is None else problems
    try:
        return problems[problem_id]
    except KeyError:
        raise UnknownIdError("problem", problem_id, sorted(problems)) from None


def _io_lists(value: Any, path: Path, line: int) -> tuple[list[str], list[str]]:
    """Parse TACO/APPS `input_output`: a dict (or JSON string of one) with inputs and outputs."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(
                path, f"not valid JSON: {exc.msg}", line=line, field="input_output"
            ) from None
    if not isinstance(value, dict):
        raise DataError(
            path, "expected an object with 'inputs' and 'outputs'", line=line, field="input_output"
        )
    if value.get("fn_name"):
        raise DataError(
            path,
            "call-based problems (fn_name) are not supported; trainrisk runs stdin/stdout programs",
            line=line,
            field="input_output.fn_name",
        )
    ins, outs = value.get("inputs"), value.get("outputs")
    for name, seq in (("inputs", ins), ("outputs", outs)):
        if not isinstance(seq, list) or not seq:
            raise DataError(
                path, "expected a non-empty list", line=line, field=f"input_output.{name}"
            )
    assert isinstance(ins, list) and isinstance(outs, list)
    if len(ins) != len(outs):
        raise DataError(
            path, f"{len(ins)} inputs but {len(outs)} outputs", line=line, field="input_output"
        )

    def text(x: Any, name: str, i: int) -> str:
        if isinstance(x, list):  # APPS sometimes stores outputs as a list of lines
            x = "\n".join(str(v) for v in x)
        if not isinstance(x, str):
            raise DataError(path, "expected a string", line=line, field=f"input_output.{name}[{i}]")
        return x

    return (
        [text(x, "inputs", i) for i, x in enumerate(ins)],
        [text(x, "outputs", i) for i, x in enumerate(outs)],
    )


def load_jsonl(path: str | Path) -> dict[str, Problem]:
    """Load a TACO/APPS-style JSONL file: one problem per line with `question` and `input_output`.

    The id comes from `id`, `problem_id` or `name` (else `<file stem>-<line>`); difficulty and
    time limit are taken when present. A malformed record raises DataError naming file, line
    and field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such file")
    problems: dict[str, Problem] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"not valid JSON: {exc.msg}", line=line_no) from None
            if not isinstance(rec, dict):
                raise DataError(path, "expected a JSON object", line=line_no)
            question = rec.get("question")
            if not isinstance(question, str) or not question.strip():
                raise DataError(
                    path, "expected a non-empty problem statement", line=line_no, field="question"
                )
            if "input_output" not in rec:
                raise DataError(path, "missing test cases", line=line_no, field="input_output")
            ins, outs = _io_lists(rec["input_output"], path, line_no)
            pid = str(
                rec.get("id")
                or rec.get("problem_id")
                or rec.get("name")
                or f"{path.stem}-{line_no}"
            )
            if pid in problems:
                raise DataError(path, f"duplicate problem id {pid!r}", line=line_no, field="id")
            difficulty = str(rec.get("difficulty", "")).lower()
            problems[pid] = Problem(
                id=pid,
                title=str(rec.get("name") or pid),
                statement=question,
                tests=tuple(TestCase(i, o) for i, o in zip(ins, outs, strict=True)),
                difficulty=difficulty if difficulty in DIFFICULTIES else "medium",
                time_limit=_time_limit(rec.get("time_limit")),
                source=str(path),
            )
    if not problems:
        raise DataError(path, "no problems in file")
    return problems


def _time_limit(value: Any) -> float:
    """TACO stores time limits as strings like '2 seconds'; fall back to the default."""
    if isinstance(value, int | float) and value > 0:
        return float(value)
    if isinstance(value, str):
        m = re.match(r"\s*([\d.]+)", value)
        if m:
            try:
                return float(m.group(1))
            except ValueError:
                pass
    return DEFAULT_TIME_LIMIT


def load_problems(source: str | Path | None = None) -> dict[str, Problem]:
    """The shipped problems, or the problems of a user's JSONL file."""
    return builtin_problems() if source is None else load_jsonl(source)
