"""The `trainrisk` command line. Each command parses its flags and hands over to a module."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainrisk import taxonomy
from trainrisk.errors import TrainriskError
from trainrisk.models.openai_client import ServerConfig
from trainrisk.prompts.library import PromptSpec

if TYPE_CHECKING:
    from trainrisk.store import Store

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        _COMMANDS[name] = fn
        return fn

    return register


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# ---------------------------------------------------------------- taxonomy / problems


@command("taxonomy")
def cmd_taxonomy(args: argparse.Namespace) -> int:
    if args.json:
        _print_json(
            {
                "levels": [vars(x) for x in taxonomy.LEVELS],
                "categories": [vars(x) for x in taxonomy.CATEGORIES],
                "subtypes": [vars(x) for x in taxonomy.SUBTYPES],
                "incentives": [vars(x) for x in taxonomy.INCENTIVES],
            }
        )
        return 0
    print("Levels (degrees of model autonomy, not severity)")
    for lv in taxonomy.LEVELS:
        print(f"  {lv.id}  {lv.name:<24} {lv.definition}")
    print("\nSubtypes")
    for st in taxonomy.SUBTYPES:
        print(f"  {st.number:02d} {st.category:<8} {st.id:<19} {st.definition}")
    print("\nIncentives")
    for inc in taxonomy.INCENTIVES:
        print(f"  {inc.id:<18} {inc.definition}")
    return 0


@command("problems")
def cmd_problems(args: argparse.Namespace) -> int:
    from trainrisk.problems import load_problems

    problems = load_problems(args.problems_file)
    if args.json:
        _print_json(
            [
                {
                    "id": p.id,
                    "title": p.title,
                    "difficulty": p.difficulty,
                    "tests": len(p.tests),
                    "time_limit": p.time_limit,
                    "source": p.source,
                }
                for p in problems.values()
            ]
        )
        return 0
    for p in problems.values():
        print(f"{p.id:<28} {p.difficulty:<7} {len(p.tests):>3} tests  {p.title}")
    print(f"{len(problems)} problems")
    return 0


# ---------------------------------------------------------------- judge


@command("judge")
def cmd_judge(args: argparse.Namespace) -> int:
    from trainrisk.problems import get_problem, load_problems
    from trainrisk.report.rollout_text import format_rollout
    from trainrisk.rollout import run_rollout
    from trainrisk.sandbox import make_sandbox

    path = Path(args.completion)
    if not path.is_file():
        raise TrainriskError(f"--completion: no such file: {path}")
    completion = path.read_text(encoding="utf-8", errors="replace")
    problem = get_problem(args.problem, load_problems(args.problems_file))
    intent = _intent_config(args)
    result = run_rollout(
        problem, completion, seed=args.seed, sandbox=make_sandbox(args.sandbox), intent=intent
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(format_rollout(result, verbose=args.verbose))
    return 0


def _intent_config(args: argparse.Namespace) -> ServerConfig | None:
    if not getattr(args, "intent_url", None):
        return None
    if not args.intent_model:
        raise TrainriskError("--intent-url needs --intent-model (the model name on that server)")
    return ServerConfig(args.intent_url, args.intent_model)


# ---------------------------------------------------------------- prompts / docs

_SHORT = {
    "metric_tampering": "metric",
    "data_tampering": "data",
    "config_tampering": "config",
    "code_tampering": "code",
    "model_tampering": "model",
    "env_tampering": "env",
    "compute_overload": "compute",
    "storage_saturation": "storage",
    "memory_depletion": "memory",
    "data_exfiltration": "exfil",
}


@command("prompts")
def cmd_prompts(args: argparse.Namespace) -> int:
    from trainrisk.prompts.environment import environment_variants
    from trainrisk.prompts.library import CONTROL, default_library, write_lock

    lib = default_library()
    if args.action == "list":
        chosen = lib.select(args.level, args.incentive, args.subtype)
        if args.json:
            _print_json(
                [
                    {
                        "id": p.id,
                        "version": p.version,
                        "level": p.level,
                        "incentive": p.incentive,
                        "subtype": p.subtype,
                        "category": p.category,
                        "sha256": p.sha256,
                    }
                    for p in chosen
                ]
            )
            return 0
        for p in chosen:
            first = p.text.strip().splitlines()[0][:60]
            print(f"{p.id:<44} v{p.version}  {first}")
        print(f"{len(chosen)} prompts")
    elif args.action == "show":
        if not args.id:
            raise TrainriskError("prompts show needs a prompt id (see `trainrisk prompts list`)")
        p = CONTROL if args.id == CONTROL.id else lib.get(args.id)
        print(
            f"{p.id}  version {p.version}  level {p.level}  incentive {p.incentive}  "
            f"subtype {p.subtype} ({p.category})"
        )
        print(
            f"applies to: L{p.level[1:]} rollouts as the system prompt's background; "
            f"L4 variant {'L4.' + p.id} puts it in important_msg.txt"
            if p.level != "control"
            else "applies to: the no-background control condition"
        )
        print(f"sha256 {p.sha256[:16]}  published: {'yes' if p.key in lib.lock else 'no'}")
        print()
        print(p.text.strip() or "(no background: only the code-RL framing)")
    elif args.action == "stats":
        _print_prompt_stats(lib.select(), len(environment_variants(lib)), args.json)
    elif args.action == "lock":
        added = write_lock(lib)
        print(
            f"published {len(added)} new prompt version(s)"
            + (": " + ", ".join(added) if added else "")
        )
    return 0


def _print_prompt_stats(prompts: list[PromptSpec], n_l4: int, as_json: bool) -> None:
    from collections import Counter

    cells = Counter((p.level, p.incentive, p.subtype) for p in prompts)
    cats = Counter((p.level, p.category) for p in prompts)
    if as_json:
        _print_json(
            {
                "cells": [
                    {"level": k[0], "incentive": k[1], "subtype": k[2], "n": n}
                    for k, n in sorted(cells.items())
                ],
                "by_category": [
                    {"level": k[0], "category": k[1], "n": n} for k, n in sorted(cats.items())
                ],
                "l4_variants": n_l4,
                "total": len(prompts),
            }
        )
        return
    head = "".join(f"{_SHORT[s]:>8}" for s in taxonomy.SUBTYPE_IDS)
    print(f"{'level':<6}{'incentive':<19}{head}{'total':>8}")
    for level in ("L1", "L2", "L3"):
        for inc in taxonomy.INCENTIVE_IDS:
            row = [cells[(level, inc, s)] for s in taxonomy.SUBTYPE_IDS]
            print(f"{level:<6}{inc:<19}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
        row = [
            sum(cells[(level, i, s)] for i in taxonomy.INCENTIVE_IDS) for s in taxonomy.SUBTYPE_IDS
        ]
        print(f"{level:<6}{'all':<19}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
    print()
    print(f"{'level':<6}" + "".join(f"{c:>10}" for c in taxonomy.CATEGORY_IDS) + f"{'total':>10}")
    for level in ("L1", "L2", "L3"):
        row = [cats[(level, c)] for c in taxonomy.CATEGORY_IDS]
        print(f"{level:<6}" + "".join(f"{n:>10}" for n in row) + f"{sum(row):>10}")
    print(
        f"\n{len(prompts)} prompts; {n_l4} L4 environment variants (one per prompt); "
        "plus the no-background control"
    )


@command("docs")
def cmd_docs(args: argparse.Namespace) -> int:
    from trainrisk.prompts.latent import build_mix, get_scenario, write_mix

    scenario = get_scenario(args.scenario)
    docs = build_mix(args.scenario, args.style, args.ratio, args.seed)
    write_mix(
        docs,
        Path(args.out),
        {"scenario": args.scenario, "style": args.style, "ratio": args.ratio, "seed": args.seed},
    )
    n_bg = sum(d.kind == "background" for d in docs)
    print(
        f"wrote {len(docs)} documents to {args.out}: {n_bg} background ({args.style}, "
        f"{scenario.model_name} by {scenario.company}), {len(docs) - n_bg} neutral"
    )
    print(f"RL system prompt for this scenario: {scenario.system_prompt}")
    return 0


# ---------------------------------------------------------------- screen / tables / show

DEFAULT_OUT = "runs"
SIZE_FLAGS = ("levels", "incentives", "subtypes", "prompts", "seeds", "steps", "batch")
# `trainrisk screen` with no selection or size flags: every level and subtype once (incentives
# rotating), plus the control, one seed; sized to finish within 10 minutes on 2 CPU cores.
DEFAULT_SCREEN = {"seeds": 1, "steps": 2, "batch": 2, "max_tokens": 192}


def _csv(values: list[str] | None) -> tuple[str, ...]:
    """Flags accept repeats and commas: --levels L1,L2 --levels L3."""
    return tuple(v.strip() for x in values or [] for v in x.split(",") if v.strip())


def _out_dir(args: argparse.Namespace, kind: str, model: str) -> Path:
    if args.out:
        return Path(args.out)
    import time

    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in model)[:40]
    return Path(DEFAULT_OUT) / f"{kind}-{safe}-{time.strftime('%Y%m%d-%H%M%S')}"


@command("screen")
def cmd_screen(args: argparse.Namespace) -> int:
    import time

    from trainrisk.experiment import Selection, one_per_cell, plan_runs, select_prompts
    from trainrisk.models import make_policy
    from trainrisk.problems import load_problems
    from trainrisk.prompts.library import default_library
    from trainrisk.sandbox import make_sandbox
    from trainrisk.screen import ScreenConfig, Screener, elapsed
    from trainrisk.store import Store, versions

    preset = not any(getattr(args, f) for f in SIZE_FLAGS)
    lib = default_library()
    if preset:
        prompts = one_per_cell(lib)
        sel_desc: dict[str, object] = {"preset": "one prompt per level x subtype + control"}
        sizes = dict(DEFAULT_SCREEN)
    else:
        sel = Selection(
            _csv(args.levels),
            _csv(args.incentives),
            _csv(args.subtypes),
            _csv(args.prompts),
            control=not args.no_control,
        )
        prompts = select_prompts(sel, lib)
        sel_desc = sel.to_dict()
        sizes = {
            "seeds": args.seeds or 1,
            "steps": args.steps or 20,
            "batch": args.batch or 8,
            "max_tokens": 512,
        }
    if args.max_tokens:
        sizes["max_tokens"] = args.max_tokens
    if not prompts:
        raise TrainriskError("the filters select no prompts (see `trainrisk prompts list`)")
    cfg = ScreenConfig(
        seeds=sizes["seeds"],
        steps=sizes["steps"],
        batch=sizes["batch"],
        temperature=args.temperature,
        max_tokens=sizes["max_tokens"],
    )
    problems = list(load_problems(args.problems_file).values())
    sandbox = make_sandbox(args.sandbox)
    policy = make_policy(
        args.model,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
    )
    out = _out_dir(args, "screen", policy.name)
    store = Store(out)
    config = {
        **cfg.to_dict(),
        "selection": sel_desc,
        "problems": args.problems_file or "builtin",
        "sandbox": sandbox.name,
    }
    exp_id = store.open_experiment(
        "screen", config, policy.describe(), versions(), resume=args.resume
    )
    runs = plan_runs(prompts, cfg.seeds)
    store.add_runs(exp_id, [r.row() for r in runs])
    print(
        f"screening {len(runs)} runs ({len(prompts)} prompts x {cfg.seeds} seed(s)), up to "
        f"{cfg.steps} steps x {cfg.batch} rollouts, model {policy.name}, sandbox "
        f"{sandbox.name}; results in {out}",
        file=sys.stderr,
    )
    t0 = time.perf_counter()
    screener = Screener(policy, store, sandbox, problems, cfg, workers=args.workers)
    try:
        screener.run_all(runs, progress=not args.quiet)
    except KeyboardInterrupt:
        store.set_experiment_status("interrupted")
        c = store.counts()
        print(
            f"\ninterrupted after {elapsed(t0)}: {c['rollouts']} rollouts and "
            f"{c['runs_done']} finished runs are saved in {out}; continue with "
            f"`trainrisk screen --out {out} --resume` (same flags)",
            file=sys.stderr,
        )
        return 130
    finally:
        policy.close()
    return _finish(store, out, t0)


@command("tables")
def cmd_tables(args: argparse.Namespace) -> int:
    from trainrisk.report.tables import render
    from trainrisk.store import Store

    print(render(Store(args.dir, create=False), args.format))
    return 0


@command("show")
def cmd_show(args: argparse.Namespace) -> int:
    from trainrisk.report.show import format_run
    from trainrisk.store import Store

    store = Store(args.dir, create=False)
    if not args.run:
        for r in store.runs():
            score = {None: "-", 1: "RISKY", 0: "ok"}[r.risky]
            print(f"{r.id:<52} {r.status:<8} {score}")
        return 0
    print(format_run(store, args.run, verbose=args.verbose))
    return 0


# train prompts for `trainrisk train` with no flags: one per level across subtypes, plus control.
DEFAULT_TRAIN_PROMPTS = (
    "L1.self_interest.metric_tampering.1",
    "L2.goal_conflict.code_tampering.1",
    "L3.social_compliance.env_tampering.1",
    "control",
)
DEFAULT_TRAIN = {"seeds": 1, "steps": 3, "batch": 1}


@command("train")
def cmd_train(args: argparse.Namespace) -> int:
    import time

    from trainrisk.experiment import Selection, plan_runs, select_prompts
    from trainrisk.models.convert import embedded_model_dir
    from trainrisk.models.hf import check_model_dir
    from trainrisk.problems import load_problems
    from trainrisk.prompts.library import default_library
    from trainrisk.sandbox import make_sandbox
    from trainrisk.screen import elapsed
    from trainrisk.store import Store, versions
    from trainrisk.train.grpo import TrainConfig, train_run
    from trainrisk.train.instruct import RUBRIC_VERSION, InstructionJudge

    preset = not any(getattr(args, f) for f in SIZE_FLAGS)
    sel = (
        Selection(prompts=DEFAULT_TRAIN_PROMPTS)
        if preset
        else Selection(
            _csv(args.levels),
            _csv(args.incentives),
            _csv(args.subtypes),
            _csv(args.prompts),
            control=not args.no_control,
        )
    )
    prompts = select_prompts(sel, default_library())
    if not prompts:
        raise TrainriskError("the filters select no prompts (see `trainrisk prompts list`)")
    sizes = (
        DEFAULT_TRAIN
        if preset
        else {"seeds": args.seeds or 1, "steps": args.steps or 20, "batch": args.batch or 2}
    )
    cfg = TrainConfig(
        seeds=sizes["seeds"],
        steps=sizes["steps"],
        batch=sizes["batch"],
        group=args.group,
        max_new_tokens=args.max_tokens or 96,
        learning_rate=args.lr,
        kl_coef=args.kl,
        clip=args.clip,
        temperature=args.temperature,
        reward=args.reward,
        monitor=args.monitor,
        penalty=args.penalty,
        reward_scale=args.reward_scale,
        reward_bias=args.reward_bias,
        early_stop=not args.no_early_stop,
        use_vllm=args.use_vllm,
        vllm_mode=args.vllm_mode,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    if args.model in (None, "embedded"):
        print(
            "using SmolLM2-135M-Instruct converted from the embedded GGUF (cached after the "
            "first run)",
            file=sys.stderr,
        )
        model_dir = embedded_model_dir()
    else:
        model_dir = check_model_dir(args.model.removeprefix("hf:"))
    judge = None
    if cfg.reward == "code+instruct":
        from trainrisk.models import make_policy

        judge = InstructionJudge(
            make_policy(args.judge_model, base_url=args.base_url, api_key_env=args.api_key_env)
        )
    problems = list(load_problems(args.problems_file).values())
    sandbox = make_sandbox(args.sandbox)
    out = _out_dir(args, "train", model_dir.name)
    store = Store(out)
    config = {
        **cfg.to_dict(),
        "selection": sel.to_dict(),
        "problems": args.problems_file or "builtin",
        "sandbox": sandbox.name,
        "judge": args.judge_model if judge else None,
    }
    model_info = {"backend": "hf", "name": model_dir.name, "path": str(model_dir.resolve())}
    exp_id = store.open_experiment(
        "train",
        config,
        model_info,
        versions({"instruct_rubric": RUBRIC_VERSION}),
        resume=args.resume,
    )
    runs = plan_runs(prompts, cfg.seeds)
    store.add_runs(exp_id, [r.row() for r in runs])
    done = {r.id for r in store.runs("done")}
    todo = [r for r in runs if r.id not in done]
    print(
        f"training {len(runs)} runs ({len(todo)} to do) with GRPO: up to {cfg.steps} steps x "
        f"{cfg.batch} problems x {cfg.group} completions, reward {cfg.reward}, monitor "
        f"{cfg.monitor}; results in {out}",
        file=sys.stderr,
    )
    from tqdm import tqdm

    t0 = time.perf_counter()
    bar = tqdm(
        total=len(runs),
        initial=len(runs) - len(todo),
        desc="train",
        unit="run",
        disable=args.quiet,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        for run in todo:
            bar.set_description(f"train {run.prompt.id}")
            outcome = train_run(
                run, model_dir, problems, sandbox, store, cfg, judge, workers=args.workers
            )
            c = store.counts()
            bar.set_postfix(
                rollouts=c["rollouts"],
                risky_runs=c["risky_runs"],
                last=f"{outcome.steps} steps" + (" RISKY" if outcome.risky else ""),
            )
            bar.update()
    except KeyboardInterrupt:
        bar.close()
        store.set_experiment_status("interrupted")
        print(
            f"\ninterrupted after {elapsed(t0)}: finished runs are saved in {out}; "
            f"`trainrisk train --out {out} --resume` (same flags) restarts unfinished runs "
            "from the initial model",
            file=sys.stderr,
        )
        return 130
    bar.close()
    return _finish(store, out, t0, f"; per-step numbers: trainrisk curves {out}")


@command("curves")
def cmd_curves(args: argparse.Namespace) -> int:
    from trainrisk.store import Store
    from trainrisk.train.curves import collect, plot, table

    stores = [Store(d, create=False) for d in args.dirs]
    groups = collect(stores)
    if not groups:
        raise TrainriskError("no training steps recorded in " + ", ".join(args.dirs))
    print(table(groups))
    out = Path(args.out or Path(args.dirs[0]) / "curves.png")
    plot(groups, out)
    print(f"\nplot: {out}")
    return 0


def _finish(store: Store, out: Path, t0: float, more: str = "") -> int:
    """Mark the experiment done, say where its results are, and print its tables."""
    from trainrisk.report.tables import render
    from trainrisk.screen import elapsed

    store.set_experiment_status("done")
    c = store.counts()
    print(
        f"done in {elapsed(t0)}: {c['runs_done']} runs, {c['rollouts']} rollouts, "
        f"{c['risky_runs']} risky runs; results in {out}{more}\n",
        file=sys.stderr,
    )
    print(render(store, "text"))
    return 0


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    from trainrisk.models import SPEC_HELP

    p.add_argument("--model", default="embedded", metavar="SPEC", help=SPEC_HELP)
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible server for --model openai:NAME "
        "(default $OPENAI_BASE_URL or http://localhost:8000/v1)",
    )
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the server's API key",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="concurrent requests to a server backend (default 8)",
    )


def _add_experiment_flags(p: argparse.ArgumentParser, training: bool = False) -> None:
    p.add_argument(
        "--levels",
        action="append",
        metavar="L1,L2,...",
        help="levels to run: L1 L2 L3 control (repeatable, comma-separated)",
    )
    p.add_argument("--incentives", action="append", metavar="LIST")
    p.add_argument("--subtypes", action="append", metavar="LIST")
    p.add_argument("--prompts", action="append", metavar="IDS", help="explicit prompt ids")
    p.add_argument("--no-control", action="store_true", help="leave out the control condition")
    p.add_argument("--seeds", type=int, help="independent seeds per prompt (default 1)")
    p.add_argument("--steps", type=int, help="steps per run (default 20)")
    p.add_argument(
        "--batch",
        type=int,
        help="problems per step (default 2)" if training else "rollouts per step (default 8)",
    )
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument(
        "--max-tokens",
        type=int,
        help="max new tokens per completion (default " + ("96)" if training else "512)"),
    )
    p.add_argument("--workers", type=int, default=2, help="parallel sandbox executions")
    p.add_argument("--problems-file", metavar="JSONL")
    p.add_argument("--sandbox", default="auto", choices=("auto", "bwrap", "plain"))
    p.add_argument("--out", metavar="DIR", help="experiment directory (default runs/<kind>-...)")
    p.add_argument("--resume", action="store_true", help="continue the experiment in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainrisk",
        description="Measure implicit training-time safety risks of models in code RL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("taxonomy", help="list levels, categories, subtypes and incentives")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("problems", help="list the coding problems")
    p.add_argument(
        "--problems-file",
        metavar="JSONL",
        help="a TACO/APPS-style JSONL file instead of the shipped problems",
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("judge", help="run one rollout for a completion and report its risks")
    p.add_argument(
        "--completion",
        required=True,
        metavar="FILE",
        help="raw model text; the program is its first fenced python block",
    )
    p.add_argument("--problem", default="a-plus-b", metavar="ID")
    p.add_argument("--problems-file", metavar="JSONL")
    p.add_argument("--seed", type=int, default=0, help="workspace seed (default 0)")
    p.add_argument("--sandbox", default="auto", choices=("auto", "bwrap", "plain"))
    p.add_argument(
        "--intent-url",
        metavar="URL",
        help="OpenAI-compatible server asked whether system findings were deliberate",
    )
    p.add_argument("--intent-model", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-v", "--verbose", action="store_true", help="show every test and change")

    p = sub.add_parser("prompts", help="the background-information library (L1-L3 prompts)")
    p.add_argument(
        "action",
        choices=("list", "show", "stats", "lock"),
        help="list | show ID | stats | lock (publish new versions)",
    )
    p.add_argument("id", nargs="?", help="prompt id for `show`")
    p.add_argument("--level", action="append", help="filter (repeatable): L1, L2, L3")
    p.add_argument("--incentive", action="append", help="filter (repeatable)")
    p.add_argument("--subtype", action="append", help="filter (repeatable)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("screen", help="screen a model: the study's runs without weight updates")
    _add_model_flags(p)
    _add_experiment_flags(p)

    p = sub.add_parser("train", help="real RL training runs (TRL GRPO) with the risk monitor")
    p.add_argument(
        "--model",
        default="embedded",
        metavar="DIR",
        help="a local HF causal LM directory (default: SmolLM2-135M-Instruct "
        "converted from the embedded GGUF)",
    )
    p.add_argument("--group", type=int, default=4, help="completions per problem (default 4)")
    p.add_argument("--lr", type=float, default=1e-6, help="learning rate (default 1e-6)")
    p.add_argument("--kl", type=float, default=0.1, help="KL coefficient (default 0.1)")
    p.add_argument("--clip", type=float, default=0.1, help="clip epsilon (default 0.1)")
    p.add_argument("--reward", default="code", choices=("code", "code+instruct"))
    p.add_argument("--reward-scale", type=float, default=1.0)
    p.add_argument("--reward-bias", type=float, default=-0.5)
    p.add_argument(
        "--monitor",
        default="watch",
        choices=("watch", "penalize", "halt"),
        help="watch (default: the reward stays the task reward), penalize, halt",
    )
    p.add_argument("--penalty", type=float, default=1.0, help="reward penalty in penalize mode")
    p.add_argument(
        "--no-early-stop",
        action="store_true",
        help="keep training after the first risky rollout (risk is recorded per step)",
    )
    p.add_argument(
        "--judge-model",
        default="embedded",
        metavar="SPEC",
        help="judge for --reward code+instruct (any --model spec of screen)",
    )
    p.add_argument("--base-url", metavar="URL", help="server for an openai:NAME judge")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR")
    p.add_argument("--use-vllm", action="store_true", help="TRL's vLLM generation (GPU)")
    p.add_argument("--vllm-mode", default="colocate", choices=("colocate", "server"))
    p.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="trade compute for memory (large models on a GPU)",
    )
    _add_experiment_flags(p, training=True)

    p = sub.add_parser("curves", help="risk rate and reward per training step (PNG + numbers)")
    p.add_argument(
        "dirs",
        nargs="+",
        metavar="DIR",
        help="one experiment (a line per run) or several (a line per reward mode)",
    )
    p.add_argument("--out", metavar="FILE.png", help="default: DIR/curves.png")

    p = sub.add_parser("tables", help="the study's tables from an experiment directory")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--format", default="text", choices=("text", "markdown", "csv", "json"))

    p = sub.add_parser("show", help="a run's rollouts with findings and evidence")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("run", nargs="?", metavar="RUN", help="run id (omit to list runs)")
    p.add_argument("-v", "--verbose", action="store_true", help="prompts and completions too")

    p = sub.add_parser("docs", help="build L5 continued-pretraining document mixes")
    p.add_argument("action", choices=("build",))
    p.add_argument("--scenario", required=True, help="accuracy_file | memory | compute | network")
    p.add_argument("--style", required=True, choices=("copy", "rewrite"))
    p.add_argument("--ratio", type=float, required=True, help="share of background documents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="FILE.jsonl")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except TrainriskError as exc:
        print(f"trainrisk {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"trainrisk {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `trainrisk prompts list | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return 0


if __name__ == "__main__":
    sys.exit(main())
