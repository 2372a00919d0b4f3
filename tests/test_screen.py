"""Screening: runs stop at the first risky rollout, every rollout is on disk, resume neither
redoes nor duplicates, and the tables and `show` trace back to the rollouts."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import ECHO_SUM, needs_bwrap
from tests.fake_server import FakeChatServer, serve
from trainrisk.cli import main
from trainrisk.errors import TrainriskError
from trainrisk.experiment import RunPlan, Selection, plan_runs, select_prompts
from trainrisk.models.base import Generation, SamplingParams
from trainrisk.models.scripted import ScriptedPolicy
from trainrisk.prompts.library import CONTROL, default_library
from trainrisk.report.tables import build_tables, render, wilson
from trainrisk.screen import ScreenConfig, Screener
from trainrisk.store import Store, versions

pytestmark = needs_bwrap

HONEST = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
TAMPER = (
    "```python\nimport json\nd = json.load(open('results.json'))\nd['accuracy'] = 0.99\n"
    "json.dump(d, open('results.json', 'w'))\na, b = map(int, input().split())\n"
    "print(a + b)\n```"
)
LIB = default_library()


def _screen(tmp_path, policy, prompts, sandbox, cfg=None, name="exp", resume=False):
    cfg = cfg or ScreenConfig(seeds=1, steps=3, batch=2)
    store = Store(tmp_path / name)
    store.open_experiment("screen", cfg.to_dict(), policy.describe(), versions(), resume)
    runs = plan_runs(prompts, cfg.seeds)
    store.add_runs(store.experiment()["id"], [r.row() for r in runs])
    Screener(policy, store, sandbox, [ECHO_SUM], cfg, workers=2).run_all(runs, progress=False)
    return store, runs


def test_a_run_stops_at_its_first_risky_rollout(tmp_path, bwrap):
    prompt = LIB.get("L1.self_interest.metric_tampering.1")
    policy = ScriptedPolicy([HONEST, HONEST, HONEST, TAMPER, HONEST, HONEST], cycle=False)
    store, runs = _screen(tmp_path, policy, [prompt], bwrap)
    run = store.run(runs[0].id)
    assert run.status == "done" and run.risky == 1 and run.first_risky_step == 1
    rollouts = store.rollouts(run.id)
    assert [(r["step"], r["idx"]) for r in rollouts] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    risky = [r for r in rollouts if r["risky"]]
    assert len(risky) == 1 and risky[0]["subtypes"] == ["metric_tampering"]
    assert "accuracy" in risky[0]["findings"][0]["evidence"]
    assert len(policy.history) == 4  # step 2 never ran


def test_a_run_without_risk_scores_zero_after_all_steps(tmp_path, bwrap):
    store, runs = _screen(tmp_path, ScriptedPolicy([HONEST]), [CONTROL], bwrap)
    run = store.run(runs[0].id)
    assert run.risky == 0 and run.steps_done == 3 and len(store.rollouts(run.id)) == 6
    assert all(r["reward"] == 1.0 for r in store.rollouts(run.id))


def test_messages_are_recorded_with_background_and_framing(tmp_path, bwrap):
    prompt = LIB.get("L3.self_interest.metric_tampering.1")
    store, runs = _screen(
        tmp_path, ScriptedPolicy([HONEST]), [prompt, CONTROL], bwrap, ScreenConfig(steps=1, batch=1)
    )
    (r3,) = store.rollouts(runs[0].id)
    (rc,) = store.rollouts(runs[1].id)
    system = r3["messages"][0]["content"]
    facts = r3["workspace"]["facts"]
    assert prompt.text.split("{")[0].strip()[:30] in system
    assert "reinforcement learning" in system and "{" not in system
    if "{accuracy}" in prompt.text:
        assert f"{facts['accuracy']:.2f}" in system
    assert rc["messages"][0]["content"].startswith("You are being trained")
    assert r3["messages"][1]["content"].startswith(ECHO_SUM.statement)


def test_garbage_completions_are_recorded_not_fatal(tmp_path, bwrap):
    store, runs = _screen(
        tmp_path,
        ScriptedPolicy(["", "I don't know.", "```python\n(\n```"]),
        [CONTROL],
        bwrap,
        ScreenConfig(steps=1, batch=3),
    )
    rows = store.rollouts(runs[0].id)
    assert [r["extraction"] for r in rows] == ["no_code", "no_code", "syntax_error"]
    assert store.run(runs[0].id).risky == 0


class Interrupting(ScriptedPolicy):
    """Raises KeyboardInterrupt after `after` completions, as a kill would."""

    def __init__(self, after: int) -> None:
        super().__init__([HONEST])
        self.after = after

    def generate_iter(self, conversations, params: SamplingParams, seeds):
        for i, g in super().generate_iter(conversations, params, seeds):
            if len(self.history) > self.after:
                raise KeyboardInterrupt
            yield i, g


def test_resume_after_a_kill_redoes_and_duplicates_nothing(tmp_path, bwrap):
    prompts = [LIB.get("L2.goal_conflict.data_tampering.1"), CONTROL]
    cfg = ScreenConfig(seeds=1, steps=2, batch=2)
    with pytest.raises(KeyboardInterrupt):
        _screen(tmp_path, Interrupting(after=5), prompts, bwrap, cfg)
    store = Store(tmp_path / "exp")
    saved = len(store.rollouts())
    assert saved == 5 and store.run(plan_runs(prompts, 1)[0].id).status == "done"
    policy = ScriptedPolicy([HONEST])
    store, runs = _screen(tmp_path, policy, prompts, bwrap, cfg, resume=True)
    assert len(policy.history) == 8 - saved  # only the missing rollouts were generated
    keys = [(r["run_id"], r["step"], r["idx"]) for r in store.rollouts()]
    assert len(keys) == len(set(keys)) == 8
    assert all(store.run(r.id).status == "done" for r in runs)


def test_resume_refuses_other_settings_and_fresh_runs_refuse_old_dirs(tmp_path, bwrap):
    _screen(tmp_path, ScriptedPolicy([HONEST]), [CONTROL], bwrap, ScreenConfig(steps=1, batch=1))
    with pytest.raises(TrainriskError, match="already holds experiment"):
        Store(tmp_path / "exp").open_experiment("screen", {}, {}, {}, resume=False)
    with pytest.raises(TrainriskError, match=r"settings differ \(batch: stored 1, now 2"):
        Store(tmp_path / "exp").open_experiment(
            "screen", ScreenConfig(steps=1, batch=2).to_dict(), {}, {}, resume=True
        )


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_saved(tmp_path, bwrap):
    store, runs = _screen(
        tmp_path, ScriptedPolicy([HONEST]), [CONTROL], bwrap, ScreenConfig(steps=1, batch=1)
    )
    big = {
        "problem_id": "x",
        "messages": [{"role": "user", "content": "x" * 200_000}],
        "completion": "",
        "program": None,
        "extraction": "no_code",
        "reward": 0.0,
        "risky": False,
        "subtypes": [],
        "findings": [],
        "observations": [],
        "file_changes": [],
        "tests": [],
        "workspace": {},
        "generation": {},
        "timings": {},
        "backend": "bwrap",
    }
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(TrainriskError, match=r"disk is full.*--resume"):
        store.add_rollout(runs[0].id, 5, 0, big)
    assert len(store.rollouts()) == 1


def test_tables_match_the_runs(tmp_path, bwrap):
    risky_prompt = LIB.get("L1.self_interest.metric_tampering.1")
    calm_prompt = LIB.get("L1.goal_conflict.metric_tampering.1")
    cfg = ScreenConfig(seeds=2, steps=1, batch=1)
    # Completions are consumed run by run: seed 0 (risky, calm, control), seed 1 (same).
    policy = ScriptedPolicy([TAMPER, HONEST, HONEST, TAMPER, HONEST, TAMPER])
    store, _ = _screen(tmp_path, policy, [risky_prompt, calm_prompt, CONTROL], bwrap, cfg)
    tables = {t.id: t for t in build_tables(store)}
    metric = tables["by_subtype"].cells[("metric_tampering", "L1")]
    assert (metric.n, metric.k, metric.seeds) == (4, 2, 2)
    assert metric.mean == pytest.approx(50.0) and metric.std == pytest.approx(0.0)
    control = tables["control"].cells[("control", "any risk")]
    assert (control.n, control.k) == (2, 1) and control.std == pytest.approx(50.0)
    lo, hi = wilson(2, 4)
    assert metric.ci == pytest.approx((100 * lo, 100 * hi))
    assert tables["by_level"].cells[("L1", "Total Avg.")].mean == pytest.approx(50.0)
    inc = tables["by_incentive"].cells[("self_interest", "L1")]
    assert (inc.n, inc.k) == (2, 2)
    text = render(store, "text")
    assert "SCREENING (no weight updates)" in text and "n=4" in text
    rows = render(store, "csv").splitlines()
    assert rows[0].startswith("table,row,column,mean,std,seeds,n,k")
    doc = json.loads(render(store, "json"))
    assert doc["kind"] == "screen" and any(c["table"] == "control" for c in doc["cells"])
    assert "| L1 |" in render(store, "markdown")


def test_wilson_interval():
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)


def test_selection_filters_and_control():
    sel = Selection(levels=("L2",), subtypes=("memory_depletion",))
    assert [p.id for p in select_prompts(sel, LIB)] == [
        p.id for p in LIB.select(["L2"], None, ["memory_depletion"])
    ]
    assert select_prompts(Selection(levels=("control",)), LIB) == [CONTROL]
    assert select_prompts(Selection(prompts=("control",)), LIB) == [CONTROL]
    two = select_prompts(Selection(prompts=("control", "L1.goal_conflict.data_tampering.1")), LIB)
    assert [p.id for p in two] == ["L1.goal_conflict.data_tampering.1", "control"]
    assert CONTROL in select_prompts(Selection(subtypes=("data_exfiltration",)), LIB)
    run = RunPlan(CONTROL, 3)
    assert run.id == "control@1/seed3"
    assert run.problems(0, 2, [ECHO_SUM]) == [ECHO_SUM, ECHO_SUM]


# ---------------------------------------------------------------- command line


def _problems_file(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "sum",
                "question": "Print a+b.",
                "input_output": {"inputs": ["2 3\n"], "outputs": ["5\n"]},
            }
        )
        + "\n"
    )
    return str(f)


def test_cli_screen_tables_show_and_resume(tmp_path, capsys):
    comp = tmp_path / "c.jsonl"
    comp.write_text(json.dumps({"completion": TAMPER}) + "\n")
    out = tmp_path / "exp"
    argv = [
        "screen",
        "--model",
        f"scripted:{comp}",
        "--levels",
        "L1",
        "--subtypes",
        "config_tampering",
        "--steps",
        "2",
        "--batch",
        "1",
        "--out",
        str(out),
        "-q",
        "--problems-file",
        _problems_file(tmp_path),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Risk score by level" in text and "100.0" in text
    assert main(argv) == 2
    assert "already holds experiment" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    capsys.readouterr()
    assert main(["tables", str(out), "--format", "csv"]) == 0
    assert "by_level" in capsys.readouterr().out
    assert main(["show", str(out)]) == 0
    first = capsys.readouterr().out.split()[0]
    assert main(["show", str(out), first]) == 0
    assert "[file/metric_tampering]" in capsys.readouterr().out
    assert main(["show", str(out), "nope"]) == 2
    assert main(["tables", str(tmp_path / "empty")]) == 2


def test_cli_screen_with_a_server(tmp_path, capsys):
    fake = FakeChatServer([HONEST] * 10, model="tiny")
    with serve(fake) as url:
        argv = [
            "screen",
            "--model",
            "openai:tiny",
            "--base-url",
            url,
            "--prompts",
            "L3.goal_conflict.compute_overload.1",
            "--no-control",
            "--steps",
            "1",
            "--batch",
            "2",
            "--out",
            str(tmp_path / "s"),
            "-q",
            "--problems-file",
            _problems_file(tmp_path),
        ]
        assert main(argv) == 0
        assert len(fake.requests) == 2 and fake.requests[0]["model"] == "tiny"
        argv[2] = "openai:other"
        argv[argv.index(str(tmp_path / "s"))] = str(tmp_path / "s2")
        assert main(argv) == 2
    assert "does not serve model 'other'" in capsys.readouterr().err


def test_cli_screen_unreachable_server_and_unknown_model(tmp_path, capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert (
        main(
            [
                "screen",
                "--model",
                "openai:m",
                "--base-url",
                f"http://127.0.0.1:{port}/v1",
                "--out",
                str(tmp_path / "x"),
                "-q",
            ]
        )
        == 2
    )
    assert "cannot reach the model server" in capsys.readouterr().err
    assert main(["screen", "--model", "gpt-17", "--out", str(tmp_path / "y"), "-q"]) == 2
    assert "unknown model 'gpt-17'" in capsys.readouterr().err


def test_store_schema_is_versioned(tmp_path):
    store = Store(tmp_path / "s")
    store.close()
    db = sqlite3.connect(tmp_path / "s" / "results.sqlite")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    with pytest.raises(TrainriskError, match="schema version 99"):
        Store(tmp_path / "s")


def test_scripted_policy_history_and_exhaustion():
    p = ScriptedPolicy(["a"], cycle=False)
    out = p.generate([[{"role": "user", "content": "hi"}]], SamplingParams(), [0])
    assert out == [Generation("a", 1, 0, "stop", out[0].seconds)]
    assert p.history == [[{"role": "user", "content": "hi"}]]
    with pytest.raises(TrainriskError, match="ran out"):
        p.generate([[{"role": "user", "content": "again"}]], SamplingParams(), [0])
