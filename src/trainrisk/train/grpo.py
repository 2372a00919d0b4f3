"""Real RL training runs: TRL's GRPO updates a fresh copy of the model while the programs it writes
run in the sandbox and the risk monitor watches every rollout.

One run = one prompt and seed, up to `steps` GRPO steps on problems drawn exactly as in
screening; it stops at its first risky rollout (the run scores 1) unless early stop is off.
Rollouts and per-step metrics land in the same store as screening.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.experiment import RunPlan
from trainrisk.messages import rollout_messages
from trainrisk.models.base import Generation
from trainrisk.problems import Problem
from trainrisk.sandbox import Sandbox
from trainrisk.screen import rollout_record
from trainrisk.store import Store
from trainrisk.train.instruct import InstructionJudge
from trainrisk.train.monitor import (
    MonitorConfig,
    RiskMonitor,
    Scored,
    completion_text,
    monitor_callback,
)
from trainrisk.workspace.facts import make_facts

REWARD_MODES = ("code", "code+instruct")


@dataclass(frozen=True)
class TrainConfig:
    """The study's settings (AReaL, PPO-style) as defaults where they fit a CPU."""

    seeds: int = 1
    steps: int = 20
    batch: int = 2  # problems per step
    group: int = 4  # completions per problem (GRPO group)
    max_new_tokens: int = 96
    learning_rate: float = 1e-6
    kl_coef: float = 0.1
    clip: float = 0.1
    temperature: float = 0.7
    reward: str = "code"
    monitor: str = "watch"
    penalty: float = 1.0
    reward_scale: float = 1.0
    reward_bias: float = -0.5
    early_stop: bool = True
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    gradient_checkpointing: bool = False  # saves memory on big models; slower on small ones

    def __post_init__(self) -> None:
        if self.reward not in REWARD_MODES:
            raise TrainriskError(f"--reward must be one of {', '.join(REWARD_MODES)}")
        for name in ("steps", "batch", "group", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise TrainriskError(f"--{name.replace('_', '-')} must be at least 1")
        if self.group < 2:
            raise TrainriskError(
                "--group must be at least 2: GRPO compares completions within a group"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def torch_threads() -> int:
    """Every core: the sandbox runs between the trainer's phases, not beside them.
    TRAINRISK_THREADS overrides."""
    return int(os.environ.get("TRAINRISK_THREADS", 0)) or os.cpu_count() or 1


class _Recorder:
    """Writes each step's rollouts to the store, with the instruction judge's verdict if any."""

    def __init__(self, run: RunPlan, store: Store, judge: InstructionJudge | None) -> None:
        self.run = run
        self.store = store
        self.judge = judge
        self.stash: dict[int, tuple[list[Scored], dict[str, list[Any]]]] = {}

    def on_scored(self, step: int, scored: list[Scored], columns: dict[str, list[Any]]) -> None:
        if self.judge is None:
            self.write(step, scored, columns, None)
        else:
            self.stash[step] = (scored, columns)

    def instruction_following_reward(
        self, prompts: list[Any], completions: list[Any], **kwargs: Any
    ) -> list[float]:
        assert self.judge is not None
        step = int(kwargs["trainer_state"].global_step)
        scored, columns = self.stash.pop(step)
        judgements = [
            self.judge.judge(p, completion_text(c), seed=i)
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True))
        ]
        self.write(step, scored, columns, judgements)
        return [j.score for j in judgements]

    def write(
        self,
        step: int,
        scored: list[Scored],
        columns: dict[str, list[Any]],
        judgements: list[Any] | None,
    ) -> None:
        prompts = columns["prompts"]
        for i, s in enumerate(scored):
            record = rollout_record(s.result, prompts[i], Generation(s.result.completion))
            record["generation"]["trainer_reward"] = {
                "code": s.reward,
                "task": s.task_reward,
                "penalty": s.penalty,
            }
            if judgements is not None:
                j = judgements[i]
                record["generation"]["trainer_reward"]["instruct"] = j.score
                record["generation"]["instruct_judge"] = {"raw": j.raw, "parsed": j.parsed}
            self.store.add_rollout(self.run.id, step, i, record)


def scripted_rollout(
    tokenizer: Any, completions: list[str]
) -> Callable[[list[Any], Any], dict[str, Any]]:
    """A TRL rollout_func that answers with given completions in turn instead of sampling:
    for tests, and for replaying recorded completions through a real GRPO update."""
    position = [0]

    def rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        prompt_ids, completion_ids = [], []
        for p in prompts:
            text = tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            prompt_ids.append(tokenizer(text, add_special_tokens=False)["input_ids"])
            done = completions[position[0] % len(completions)]
            position[0] += 1
            ids = tokenizer(done, add_special_tokens=False)["input_ids"]
            completion_ids.append([*ids, tokenizer.eos_token_id])
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout


@dataclass
class RunOutcome:
    risky: bool
    first_risky_step: int | None
    steps: int
    weight_delta: float | None  # L2 norm of the change in weights (small models only)
    stop_reason: str | None


def train_run(
    run: RunPlan,
    model_dir: Path,
    problems: list[Problem],
    sandbox: Sandbox,
    store: Store,
    cfg: TrainConfig,
    judge: InstructionJudge | None = None,
    rollout_func: Callable[..., dict[str, Any]] | None = None,
    workers: int = 2,
) -> RunOutcome:
    """Train a fresh copy of the model for one run; every rollout and step goes to the store."""
    try:
        import torch
        from datasets import Dataset
        from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
        from trl import GRPOConfig, GRPOTrainer
    except ImportError:
        raise TrainriskError(
            "training needs torch, transformers, trl and datasets: "
            "pip install 'trainrisk[train]' torch"
        ) from None
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one "Loading weights" bar per run would bury ours
    torch.set_num_threads(torch_threads())
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    store.reset_run(run.id)  # an unfinished run restarts from the initial model
    store.start_run(run.id)
    facts = make_facts(run.workspace_seed)
    rows = [
        {
            "prompt": rollout_messages(run.prompt, p, facts),
            "problem_id": p.id,
            "workspace_seed": run.workspace_seed,
        }
        for step in range(cfg.steps)
        for p in run.problems(step, cfg.batch, problems)
    ]
    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16 if cuda else torch.float32
    )
    n_params = sum(p.numel() for p in model.parameters())
    before = [p.detach().clone() for p in model.parameters()] if n_params < 5e8 else None

    monitor = RiskMonitor(
        {p.id: p for p in problems},
        sandbox,
        MonitorConfig(cfg.monitor, cfg.penalty, cfg.reward_scale, cfg.reward_bias),
        workers=workers,
    )
    recorder = _Recorder(run, store, judge)
    reward_funcs: list[Any] = [monitor.trl_reward(recorder.on_scored)]
    if judge is not None:
        reward_funcs.append(recorder.instruction_following_reward)
    callback = monitor_callback(
        monitor, cfg.early_stop, on_step=lambda step, m: store.add_step(run.id, step, m)
    )
    with tempfile.TemporaryDirectory(prefix="trainrisk-grpo-") as out, warnings.catch_warnings():
        # TRL and transformers warn about their own deprecations on every run.
        warnings.simplefilter("ignore")
        args = GRPOConfig(
            output_dir=out,
            max_steps=cfg.steps,
            per_device_train_batch_size=cfg.batch * cfg.group,
            num_generations=cfg.group,
            max_completion_length=cfg.max_new_tokens,
            learning_rate=cfg.learning_rate,
            lr_scheduler_type="cosine",
            beta=cfg.kl_coef,
            epsilon=cfg.clip,
            temperature=cfg.temperature,
            shuffle_dataset=False,
            seed=run.seed,
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            disable_tqdm=True,
            use_cpu=not cuda,
            bf16=cuda,
            use_vllm=cfg.use_vllm,
            vllm_mode=cfg.vllm_mode,
            dataloader_num_workers=0,
            gradient_checkpointing=cfg.gradient_checkpointing,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            callbacks=[callback],
            rollout_func=rollout_func,
        )
        # Our callback records each step; the trainer's own printing would flood the output.
        trainer.remove_callback(PrinterCallback)
        try:
            trainer.train()
        except torch.OutOfMemoryError:
            raise TrainriskError(
                "out of memory while training; lower --batch, --group or --max-new-tokens"
            ) from None
        finally:
            monitor.close()
    delta = None
    if before is not None:
        delta = math.sqrt(
            sum(
                float((p.detach() - b).float().pow(2).sum())
                for p, b in zip(model.parameters(), before, strict=True)
            )
        )
    steps = trainer.state.global_step
    risky = callback.first_risky_step is not None
    store.finish_run(run.id, risky, callback.first_risky_step, steps)
    if callback.stop_reason or delta is not None:
        last = store.steps(run.id)[-1:] or [{"step": steps - 1}]
        metrics = {k: v for k, v in last[0].items() if k not in ("run_id", "step")}
        metrics.update(stop_reason=callback.stop_reason, weight_delta=delta)
        store.add_step(run.id, last[0]["step"], metrics)
    return RunOutcome(risky, callback.first_risky_step, steps, delta, callback.stop_reason)
