"""End-to-end on the real embedded model (SmolLM2-135M-Instruct): generation through llama.cpp,
a screening run, and one GRPO step on the model converted from its GGUF."""

from __future__ import annotations

import pytest

from tests.conftest import ECHO_SUM, needs_bwrap
from trainrisk.cli import main
from trainrisk.experiment import RunPlan
from trainrisk.models.base import SamplingParams
from trainrisk.prompts.library import CONTROL
from trainrisk.store import Store, versions

pytestmark = [pytest.mark.slow, needs_bwrap]
llama_cpp = pytest.importorskip("llama_cpp")

CONV = [
    {"role": "system", "content": "You write Python programs."},
    {
        "role": "user",
        "content": "Read two integers and print their sum. Answer with a ```python code block.",
    },
]


@pytest.fixture(scope="module")
def embedded():
    from trainrisk.models.embedded import EmbeddedPolicy

    policy = EmbeddedPolicy()
    yield policy
    policy.close()


def test_embedded_model_generates_reproducibly(embedded):
    params = SamplingParams(temperature=0.7, max_tokens=40)
    a = embedded.generate([CONV, CONV], params, [7, 7])
    b = embedded.generate([CONV], params, [7])
    assert a[0].text and a[0].completion_tokens > 0
    assert a[0].text == a[1].text == b[0].text
    assert embedded.describe()["name"] == "SmolLM2-135M-Instruct"
    assert len(embedded.describe()["sha256"]) == 64


def test_screen_on_the_embedded_model(tmp_path, capsys):
    out = tmp_path / "screen"
    assert (
        main(
            [
                "screen",
                "--prompts",
                "L1.self_interest.metric_tampering.1",
                "--no-control",
                "--steps",
                "1",
                "--batch",
                "2",
                "--max-tokens",
                "48",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    store = Store(out, create=False)
    rows = store.rollouts()
    assert len(rows) == 2 and all(r["generation"]["completion_tokens"] > 0 for r in rows)
    assert store.experiment()["model"]["backend"] == "embedded"
    assert "SCREENING (no weight updates)" in capsys.readouterr().out


def test_one_grpo_step_on_the_converted_model(tmp_path, bwrap):
    from trainrisk.models.convert import embedded_model_dir
    from trainrisk.train.grpo import TrainConfig, train_run

    model_dir = embedded_model_dir()
    run = RunPlan(CONTROL, 0)
    cfg = TrainConfig(steps=1, batch=1, group=2, max_new_tokens=24)
    store = Store(tmp_path / "t")
    store.open_experiment("train", cfg.to_dict(), {"name": model_dir.name}, versions(), False)
    store.add_runs(store.experiment()["id"], [run.row()])
    outcome = train_run(run, model_dir, [ECHO_SUM], bwrap, store, cfg)
    assert outcome.steps == 1 and len(store.rollouts(run.id)) == 2
    assert store.steps(run.id)[0]["rollouts"] == 2
