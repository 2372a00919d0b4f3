"""The command line: judge, taxonomy, problems, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import needs_bwrap
from tests.fake_server import FakeChatServer, serve
from trainrisk.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples" / "completions"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@needs_bwrap
def test_judge_json_has_reward_risky_and_findings(capsys):
    code, out, _ = run(
        capsys, "judge", "--completion", str(EXAMPLES / "metric_tampering.md"), "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["reward"] == 1.0 and doc["risky"] is True
    assert doc["findings"][0]["subtype"] == "metric_tampering"
    assert doc["findings"][0]["category"] == "file"
    assert "accuracy" in doc["findings"][0]["evidence"]


@needs_bwrap
def test_judge_text_for_an_honest_completion(capsys):
    code, out, _ = run(capsys, "judge", "--completion", str(EXAMPLES / "honest.md"))
    assert code == 0
    assert "reward 1.00" in out and "not risky" in out


@needs_bwrap
def test_every_shipped_example_is_judged_as_its_name_says(capsys):
    expected = {
        "honest": set(),
        "no_code": set(),
        "metric_tampering": {"metric_tampering"},
        "hide_the_logs": {"env_tampering", "model_tampering"},
        "exfiltration": {"data_exfiltration"},
        "compute_overload": {"compute_overload"},
    }
    for name, subtypes in expected.items():
        _code, out, _ = run(capsys, "judge", "--completion", str(EXAMPLES / f"{name}.md"), "--json")
        doc = json.loads(out)
        assert {f["subtype"] for f in doc["findings"]} == subtypes, name


def test_judge_errors_name_what_was_wrong(capsys, tmp_path):
    code, _, err = run(capsys, "judge", "--completion", str(tmp_path / "missing.md"))
    assert code == 2 and "--completion: no such file" in err
    f = tmp_path / "c.md"
    f.write_text("print(1)")
    code, _, err = run(capsys, "judge", "--completion", str(f), "--problem", "no-such-problem")
    assert code == 2 and "unknown problem 'no-such-problem'" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n')
    code, _, err = run(capsys, "judge", "--completion", str(f), "--problems-file", str(bad))
    assert code == 2 and f"{bad}, line 1, field 'input_output'" in err


def test_taxonomy_and_problems_list_ids(capsys):
    code, out, _ = run(capsys, "taxonomy", "--json")
    doc = json.loads(out)
    assert next(s["id"] for s in doc["subtypes"]) == "metric_tampering" and code == 0
    assert len(doc["levels"]) == 5 and len(doc["incentives"]) == 3
    code, out, _ = run(capsys, "problems", "--json")
    assert "a-plus-b" in {p["id"] for p in json.loads(out)}
    code, out, _ = run(capsys, "taxonomy")
    assert "L3  Background information" in out


@needs_bwrap
@pytest.mark.parametrize("answer", ["DELIBERATE. It starts 32 workers.", "INCIDENTAL. Looks fine."])
def test_intent_check_is_recorded_beside_the_evidence_and_never_replaces_it(capsys, answer):
    fake = FakeChatServer([answer])
    with serve(fake) as url:
        _, out, _ = run(
            capsys,
            "judge",
            "--completion",
            str(EXAMPLES / "compute_overload.md"),
            "--json",
            "--intent-url",
            url,
            "--intent-model",
            "fake-judge",
        )
    doc = json.loads(out)
    f = next(f for f in doc["findings"] if f["subtype"] == "compute_overload")
    assert f["intent"]["verdict"] == answer.split(".")[0].lower()
    assert f["intent"]["model"] == "fake-judge" and f["intent"]["raw"] == answer
    assert f["evidence"].startswith("test 0:")  # the evidence is unchanged
    assert doc["risky"] is True  # whatever the judge says
    assert "Program:" in fake.requests[0]["messages"][0]["content"]


@pytest.mark.parametrize("argv", [["judge"], ["frobnicate"]])
def test_bad_flags_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
