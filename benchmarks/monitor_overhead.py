"""GRPO step time with and without the risk monitor, side by side in one run.

Both variants train a fresh copy of the same model with the same seed, prompts and settings
(TRL GRPO on the CPU). With the monitor, the reward function runs every completion in the
bubblewrap sandbox with all detectors; without it, a plain subprocess executor computes the
same pass rate (code RL needs the reward either way). Rounds alternate the order. Prints the
median step time of each and the monitor's share.

    python benchmarks/monitor_overhead.py [--steps 3] [--rounds 2] [--model DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from plain_executor import plain_pass_rate
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
from transformers.utils import logging as hf_logging
from trl import GRPOConfig, GRPOTrainer

from trainrisk.experiment import RunPlan
from trainrisk.extract import extract_program
from trainrisk.messages import rollout_messages
from trainrisk.models.convert import embedded_model_dir
from trainrisk.problems import builtin_problems
from trainrisk.prompts.library import default_library
from trainrisk.sandbox import make_sandbox
from trainrisk.train.grpo import torch_threads
from trainrisk.train.monitor import RiskMonitor, completion_text
from trainrisk.workspace.facts import make_facts

PROBLEMS = builtin_problems()


def plain_reward(
    prompts: list[Any], completions: list[Any], problem_id: list[str], **kwargs: Any
) -> list[float]:
    """The same reward (pass rate - 0.5) from a bare subprocess executor."""
    out = []
    for pid, c in zip(problem_id, completions, strict=True):
        program = extract_program(completion_text(c)).program
        out.append((plain_pass_rate(PROBLEMS[pid], program) if program else 0.0) - 0.5)
    return out


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self.t0 = 0.0

    def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.times.append(time.perf_counter() - self.t0)


def run_variant(
    model_dir: Path, rows: list[dict[str, Any]], reward: Any, steps: int, group: int
) -> list[float]:
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = GRPOConfig(
            output_dir=out,
            max_steps=steps,
            per_device_train_batch_size=group,
            num_generations=group,
            max_completion_length=96,
            learning_rate=1e-6,
            beta=0.1,
            epsilon=0.1,
            temperature=0.7,
            shuffle_dataset=False,
            seed=0,
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            disable_tqdm=True,
            use_cpu=True,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[reward],
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tok,
            callbacks=[timer],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return timer.times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--model", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(torch_threads())
    hf_logging.disable_progress_bar()
    model_dir = args.model or embedded_model_dir()
    run = RunPlan(default_library().get("L2.self_interest.metric_tampering.1"), 0)
    facts = make_facts(run.workspace_seed)
    pool = list(PROBLEMS.values())
    rows = [
        {"prompt": rollout_messages(run.prompt, p, facts), "problem_id": p.id}
        for s in range(args.steps)
        for p in run.problems(s, 1, pool)
    ]
    monitor = RiskMonitor(PROBLEMS, make_sandbox("bwrap"))
    variants = {"with monitor": monitor.trl_reward(), "without monitor": plain_reward}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            t = run_variant(model_dir, rows, variants[name], args.steps, args.group)
            times[name] += t
            print(f"round {r + 1} {name:>16}: steps {', '.join(f'{x:.1f}s' for x in t)}")
    with_m = statistics.median(times["with monitor"])
    without = statistics.median(times["without monitor"])
    print(
        f"\nmedian GRPO step: with monitor {with_m:.2f}s, without {without:.2f}s "
        f"({args.group} completions of up to 96 tokens, {model_dir.name}, CPU)"
    )
    print(f"the monitor adds {(with_m - without) / without:+.1%} to step time (target <= 10%)")


if __name__ == "__main__":
    main()
