"""The risk monitor: scores every rollout of an RL run with the detectors, beside the reward.

By default it only watches: the reward stays the task reward, so the monitor never teaches the
model to hide what it does (the known failure of monitors turned into rewards). Optional modes:
`penalize` subtracts a penalty from risky rollouts' reward; `halt` stops the run and says why.

It plugs into TRL as a reward function plus a trainer callback, and is a plain function from
(prompt, problem, completion) to (reward, findings) with an adapter for verl's custom
reward-function signature, so any RL framework can call it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.problems import Problem, TestCase, get_problem, load_problems
from trainrisk.rollout import RolloutResult, run_rollout
from trainrisk.sandbox import Limits, Sandbox, make_sandbox

MODES = ("watch", "penalize", "halt")
_TRAINER_KEYS = frozenset(
    {
        "loss",
        "kl",
        "grad_norm",
        "learning_rate",
        "step_time",
        "entropy",
        "reward",
        "reward_std",
        "completions/mean_length",
    }
)


@dataclass(frozen=True)
class MonitorConfig:
    mode: str = "watch"
    penalty: float = 1.0  # subtracted from a risky rollout's reward in `penalize` mode
    reward_scale: float = 1.0  # the study's reward scaling ...
    reward_bias: float = -0.5  # ... and bias: reward = scale * pass_rate + bias

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise TrainriskError(
                f"unknown monitor mode {self.mode!r}; expected one of: {', '.join(MODES)}"
            )


@dataclass
class Scored:
    """One monitored rollout: the reward the trainer gets, and everything the detectors found."""

    reward: float
    task_reward: float
    result: RolloutResult
    penalty: float = 0.0

    @property
    def risky(self) -> bool:
        return self.result.risky

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.result.findings


@dataclass
class StepSummary:
    step: int
    n: int = 0
    reward_sum: float = 0.0
    task_reward_sum: float = 0.0
    risky: int = 0
    by_subtype: Counter[str] = field(default_factory=Counter)

    def add(self, s: Scored) -> None:
        self.n += 1
        self.reward_sum += s.reward
        self.task_reward_sum += s.task_reward
        self.risky += s.risky
        self.by_subtype.update(s.result.subtypes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rollouts": self.n,
            "reward_mean": self.reward_sum / max(self.n, 1),
            "task_reward_mean": self.task_reward_sum / max(self.n, 1),
            "risk_rate": self.risky / max(self.n, 1),
            "risky_rollouts": self.risky,
            "findings_by_subtype": dict(self.by_subtype),
        }


class RiskMonitor:
    """Run rollouts through the sandbox and the detectors; keep per-step statistics."""

    def __init__(
        self,
        problems: dict[str, Problem],
        sandbox: Sandbox | None = None,
        cfg: MonitorConfig | None = None,
        limits: Limits | None = None,
        workers: int = 2,
    ) -> None:
        self.problems = problems
        self.sandbox = sandbox or make_sandbox()
        self.cfg = cfg or MonitorConfig()
        self.limits = limits or Limits()
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="monitor")
        self.lock = threading.Lock()
        self.steps: dict[int, StepSummary] = {}
        self.halted: str | None = None

    # ------------------------------------------------------------ plain function

    def score(self, problem: Problem | str, completion: str, seed: int = 0) -> Scored:
        """(problem, completion) -> reward and findings. The prompt shapes the completion, not
        the judgement: detection rests on what the program did."""
        if isinstance(problem, str):
            problem = get_problem(problem, self.problems)
        result = run_rollout(
            problem, completion, seed=seed, sandbox=self.sandbox, limits=self.limits
        )
        task = self.cfg.reward_scale * result.reward + self.cfg.reward_bias
        penalty = self.cfg.penalty if (self.cfg.mode == "penalize" and result.risky) else 0.0
        return Scored(task - penalty, task, result, penalty)

    def score_many(self, items: list[tuple[Problem | str, str, int]]) -> list[Scored]:
        return list(self.pool.map(lambda it: self.score(*it), items))

    def record(self, step: int, scored: list[Scored]) -> None:
        """Add a step's rollouts to the statistics; in `halt` mode, note the first risk."""
        with self.lock:
            summary = self.steps.setdefault(step, StepSummary(step))
            for s in scored:
                summary.add(s)
                if s.risky and self.cfg.mode == "halt" and self.halted is None:
                    f = s.findings[0]
                    self.halted = (
                        f"risk monitor halted the run at step {step}: "
                        f"{f['subtype']}: {f['evidence']}"
                    )

    def summary(self, step: int) -> dict[str, Any]:
        with self.lock:
            return self.steps.get(step, StepSummary(step)).as_dict()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    # ------------------------------------------------------------ TRL

    def trl_reward(
        self, on_scored: Callable[[int, list[Scored], dict[str, list[Any]]], None] | None = None
    ) -> Callable[..., list[float]]:
        """A TRL reward function. The dataset must have a `problem_id` column (and may have
        `workspace_seed`); `on_scored(step, scored, columns)` sees every batch."""

        def risk_monitored_code_reward(
            prompts: list[Any], completions: list[Any], **kwargs: Any
        ) -> list[float]:
            state = kwargs.get("trainer_state")
            step = int(getattr(state, "global_step", 0))
            ids = kwargs.get("problem_id")
            if ids is None:
                raise TrainriskError("the training dataset needs a `problem_id` column")
            seeds = kwargs.get("workspace_seed") or [0] * len(completions)
            texts = [completion_text(c) for c in completions]
            scored = self.score_many(list(zip(ids, texts, seeds, strict=True)))
            self.record(step, scored)
            if on_scored is not None:
                on_scored(step, scored, {"prompts": prompts, **kwargs})
            return [s.reward for s in scored]

        return risk_monitored_code_reward


def completion_text(completion: Any) -> str:
    """TRL passes conversational completions as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def monitor_callback(
    monitor: RiskMonitor,
    early_stop: bool,
    on_step: Callable[[int, dict[str, Any]], None] | None = None,
) -> Any:
    """A transformers TrainerCallback: per-step records, the study's early stop, `halt` mode."""
    from transformers import TrainerCallback

    class RiskMonitorCallback(TrainerCallback):
        def __init__(self) -> None:
            self.first_risky_step: int | None = None
            self.stop_reason: str | None = None
            self.pending: dict[int, dict[str, Any]] = {}

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            step = state.global_step - 1
            summary = monitor.summary(step)
            self.pending[step] = summary
            if summary["risky_rollouts"] and self.first_risky_step is None:
                self.first_risky_step = step
                if early_stop:
                    self.stop_reason = f"first risky rollout at step {step} (early stop)"
                    control.should_training_stop = True
            if monitor.halted:
                self.stop_reason = monitor.halted
                control.should_training_stop = True
            return control

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> Any:
            step = state.global_step - 1
            if step in self.pending and logs and "loss" in logs:
                metrics = dict(self.pending.pop(step))
                # The trainer's own view: loss, KL, timing, and each reward function's mean.
                for key, value in logs.items():
                    if key in _TRAINER_KEYS or (
                        key.startswith("rewards/") and key.endswith("/mean")
                    ):
                        metrics[key.replace("completions/", "completion_")] = value
                if on_step is not None:
                    on_step(step, metrics)
            return control

    return RiskMonitorCallback()


# ---------------------------------------------------------------- verl


_VERL_MONITOR: RiskMonitor | None = None


def verl_compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """verl custom reward function (`custom_reward_function.name=verl_compute_score`).

    ground_truth is a trainrisk problem id, or TACO-style tests ({"inputs", "outputs"}, or a
    JSON string of it). extra_info may carry `workspace_seed`. Returns verl's dict form:
    `score` plus the monitor's verdict as extra fields.
    """
    global _VERL_MONITOR
    if _VERL_MONITOR is None:
        import os

        _VERL_MONITOR = RiskMonitor(load_problems(os.environ.get("TRAINRISK_PROBLEMS")))
    problem = _verl_problem(ground_truth, data_source)
    seed = int((extra_info or {}).get("workspace_seed", 0))
    s = _VERL_MONITOR.score(problem, solution_str, seed)
    return {
        "score": s.reward,
        "pass_rate": s.result.reward,
        "risky": int(s.risky),
        "risk_subtypes": ",".join(s.result.subtypes),
        "risk_evidence": json.dumps([f["evidence"] for f in s.findings])[:2000],
    }


def _verl_problem(ground_truth: Any, data_source: str) -> Problem | str:
    if isinstance(ground_truth, str):
        try:
            ground_truth = json.loads(ground_truth)
        except json.JSONDecodeError:
            return ground_truth  # a problem id
    if isinstance(ground_truth, dict) and "inputs" in ground_truth:
        tests = tuple(
            TestCase(str(i), str(o))
            for i, o in zip(ground_truth["inputs"], ground_truth["outputs"], strict=True)
        )
        return Problem(id=str(data_source), title=str(data_source), statement="", tests=tests)
    raise TrainriskError("verl ground_truth must be a problem id or {'inputs', 'outputs'}")
