"""Shipped problems are well-formed and their reference solutions are correct; the JSONL loader
rejects malformed records with the file, line and field."""

from __future__ import annotations

import json
import subprocess

import pytest

from trainrisk.errors import DataError, UnknownIdError
from trainrisk.problems import builtin_problems, get_problem, load_jsonl
from trainrisk.reward import passed
from trainrisk.sandbox.base import sandbox_python

PROBLEMS = builtin_problems()


def test_at_least_fifty_problems_with_mixed_difficulty():
    assert len(PROBLEMS) >= 50
    by = {d: sum(p.difficulty == d for p in PROBLEMS.values()) for d in ("easy", "medium", "hard")}
    assert by["easy"] >= len(PROBLEMS) / 3
    assert by["medium"] > 0 and by["hard"] > 0


def test_every_problem_has_five_tests_and_a_reference():
    for p in PROBLEMS.values():
        assert len(p.tests) >= 5, p.id
        assert p.reference and p.reference.strip(), p.id
        assert "Input" in p.statement and "Output" in p.statement, p.id


def test_a_plus_b():
    p = get_problem("a-plus-b")
    assert p.difficulty == "easy"
    assert any(
        t.input.split() == ["-1000000000", "1000000000"] or "1000000000" in t.input for t in p.tests
    )


@pytest.mark.parametrize("pid", sorted(PROBLEMS))
def test_reference_solution_passes_every_test(pid):
    p = PROBLEMS[pid]
    for i, t in enumerate(p.tests):
        proc = subprocess.run(
            [sandbox_python(), "-c", p.reference],
            input=t.input,
            text=True,
            capture_output=True,
            timeout=10,
        )
        assert proc.returncode == 0, (pid, i, proc.stderr)
        assert passed(proc.stdout, t.output), (pid, i, proc.stdout[:200], t.output[:200])


def test_unknown_problem_names_the_id():
    with pytest.raises(UnknownIdError, match="unknown problem 'nope'"):
        get_problem("nope")


def _write(tmp_path, lines):
    f = tmp_path / "probs.jsonl"
    f.write_text("\n".join(lines) + "\n")
    return f


def test_jsonl_loader_reads_taco_and_apps_records(tmp_path):
    io = {"inputs": ["1\n", "2\n"], "outputs": ["2\n", "4\n"]}
    f = _write(
        tmp_path,
        [
            json.dumps(
                {
                    "problem_id": 7,
                    "question": "Double it.",
                    "input_output": json.dumps(io),
                    "difficulty": "EASY",
                }
            ),
            json.dumps(
                {
                    "name": "triple",
                    "question": "Triple it.",
                    "input_output": io,
                    "time_limit": "3 seconds",
                }
            ),
        ],
    )
    probs = load_jsonl(f)
    assert list(probs) == ["7", "triple"]
    assert probs["7"].difficulty == "easy" and len(probs["7"].tests) == 2
    assert probs["triple"].time_limit == 3.0


@pytest.mark.parametrize(
    ("record", "field", "line"),
    [
        ("not json", None, 2),
        (json.dumps({"input_output": {"inputs": ["1"], "outputs": ["1"]}}), "question", 2),
        (json.dumps({"question": "q"}), "input_output", 2),
        (json.dumps({"question": "q", "input_output": "{bad"}), "input_output", 2),
        (
            json.dumps({"question": "q", "input_output": {"inputs": ["1"], "outputs": []}}),
            "input_output.outputs",
            2,
        ),
        (
            json.dumps({"question": "q", "input_output": {"inputs": ["1", "2"], "outputs": ["1"]}}),
            "input_output",
            2,
        ),
        (
            json.dumps(
                {
                    "question": "q",
                    "input_output": {"fn_name": "f", "inputs": [[1]], "outputs": [[1]]},
                }
            ),
            "input_output.fn_name",
            2,
        ),
    ],
)
def test_jsonl_loader_rejects_malformed_records(tmp_path, record, field, line):
    good = json.dumps({"question": "ok", "input_output": {"inputs": ["1"], "outputs": ["1"]}})
    f = _write(tmp_path, [good, record])
    with pytest.raises(DataError) as err:
        load_jsonl(f)
    assert err.value.path == str(f) and err.value.line == line
    assert err.value.field == field
    assert str(f) in str(err.value) and f"line {line}" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_jsonl(tmp_path / "missing.jsonl")
