"""Screening: the study's run procedure with the model's weights held fixed.

Each run samples up to `steps` batches of rollouts and stops at its first risky rollout (the run
scores 1), else scores 0. Completions go to the sandbox as soon as they are generated, so
execution overlaps generation; every rollout is committed to the store when it finishes.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from tqdm import tqdm

from trainrisk.experiment import RunPlan
from trainrisk.messages import rollout_messages
from trainrisk.models.base import Generation, Policy, SamplingParams
from trainrisk.problems import Problem
from trainrisk.rollout import RolloutResult, run_rollout
from trainrisk.sandbox import Limits, Sandbox
from trainrisk.store import Store
from trainrisk.workspace.facts import make_facts


@dataclass(frozen=True)
class ScreenConfig:
    seeds: int = 1
    steps: int = 20
    batch: int = 8
    temperature: float = 0.7
    max_tokens: int = 512

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rollout_record(
    result: RolloutResult, messages: list[dict[str, str]], gen: Generation
) -> dict[str, Any]:
    """What the store keeps of a rollout: everything needed to trace a table cell back to it."""
    d = result.to_dict()
    return {
        "problem_id": d["problem_id"],
        "messages": messages,
        "completion": d["completion"],
        "program": d["program"],
        "extraction": d["extraction"],
        "reward": d["reward"],
        "risky": d["risky"],
        "subtypes": result.subtypes,
        "findings": d["findings"],
        "observations": d["observations"],
        "file_changes": d["file_changes"],
        "tests": d["tests"],
        "workspace": d["workspace"],
        "generation": {
            "completion_tokens": gen.completion_tokens,
            "prompt_tokens": gen.prompt_tokens,
            "finish_reason": gen.finish_reason,
            "seconds": round(gen.seconds, 3),
        },
        "timings": d["timings"],
        "backend": d["backend"],
        "error": d["error"],
    }


class Screener:
    def __init__(
        self,
        policy: Policy,
        store: Store,
        sandbox: Sandbox,
        problems: list[Problem],
        cfg: ScreenConfig,
        limits: Limits | None = None,
        workers: int = 2,
    ) -> None:
        self.policy = policy
        self.store = store
        self.sandbox = sandbox
        self.problems = problems
        self.cfg = cfg
        self.limits = limits or Limits()
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="sandbox")
        self.params = SamplingParams(cfg.temperature, cfg.max_tokens)

    def run_all(self, runs: list[RunPlan], progress: bool = True) -> None:
        done = {r.id for r in self.store.runs("done")}
        todo = [r for r in runs if r.id not in done]
        counts = self.store.counts()
        bar = tqdm(
            total=len(runs),
            initial=len(runs) - len(todo),
            desc="screen",
            unit="run",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        bar.set_postfix(rollouts=counts["rollouts"], risky_runs=counts["risky_runs"])
        try:
            for run in todo:
                bar.set_description(f"screen {run.prompt.id}")
                self.run_one(run)
                counts = self.store.counts()
                bar.set_postfix(rollouts=counts["rollouts"], risky_runs=counts["risky_runs"])
                bar.update()
        finally:
            bar.close()
            # Completions already generated are judged and saved even on Ctrl-C: generating
            # them was the expensive part.
            self.pool.shutdown(wait=True)

    def run_one(self, run: RunPlan) -> bool:
        """Screen one run; returns its score. Finished rollouts on disk are not redone."""
        self.store.start_run(run.id)
        done = self.store.done_keys(run.id)
        facts = make_facts(run.workspace_seed)
        for step in range(self.cfg.steps):
            problems = run.problems(step, self.cfg.batch, self.problems)
            todo = [i for i in range(self.cfg.batch) if (step, i) not in done]
            risky = any(done.get((step, i), False) for i in range(self.cfg.batch))
            if todo:
                risky |= self._step(run, step, todo, problems, facts)
            if risky:
                self.store.finish_run(run.id, True, step, step + 1)
                return True
        self.store.finish_run(run.id, False, None, self.cfg.steps)
        return False

    def _step(
        self, run: RunPlan, step: int, todo: list[int], problems: list[Problem], facts: Any
    ) -> bool:
        convs = [rollout_messages(run.prompt, problems[i], facts) for i in todo]
        seeds = [run.sampling_seed(step, i) for i in todo]
        futures: list[Future[bool]] = []
        for j, gen in self.policy.generate_iter(convs, self.params, seeds):
            i = todo[j]
            futures.append(self.pool.submit(self._judge, run, step, i, problems[i], convs[j], gen))
        return any([f.result() for f in futures])

    def _judge(
        self,
        run: RunPlan,
        step: int,
        idx: int,
        problem: Problem,
        messages: list[dict[str, str]],
        gen: Generation,
    ) -> bool:
        result = run_rollout(
            problem, gen.text, seed=run.workspace_seed, sandbox=self.sandbox, limits=self.limits
        )
        self.store.add_rollout(run.id, step, idx, rollout_record(result, messages, gen))
        return result.risky


def elapsed(t0: float) -> str:
    s = int(time.perf_counter() - t0)
    return f"{s // 60}m{s % 60:02d}s"
