"""The `trainrisk` command line. Each command parses its flags and hands over to a module."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trainrisk import taxonomy
from trainrisk.errors import TrainriskError
from trainrisk.models.openai_client import ServerConfig

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


if __name__ == "__main__":
    sys.exit(main())
