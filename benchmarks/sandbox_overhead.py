"""Sandbox + detection against a plain subprocess executor, side by side in one run.

Both executors run the same batch: every shipped problem's reference solution, as a
completion, on all of its tests. (a) is trainrisk's rollout (bubblewrap sandbox, driver,
snapshot, all detectors, reward). (b) is what a bare code-RL executor does: write the
training-run workspace and the program to a temporary directory and run `python3 main.py`
once per test with subprocess, then compare stdout. The two alternate problem by problem so
that machine noise hits both alike. Prints rollouts per second for each and the ratio.

    python benchmarks/sandbox_overhead.py [--rounds 3] [--sandbox bwrap]
"""

from __future__ import annotations

import argparse
import statistics
import time

from plain_executor import plain_pass_rate

from trainrisk.problems import builtin_problems
from trainrisk.rollout import run_rollout
from trainrisk.sandbox import Limits, make_sandbox


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sandbox", default="bwrap")
    args = ap.parse_args()
    problems = [p for p in builtin_problems().values() if p.reference][:50]
    sandbox = make_sandbox(args.sandbox)
    limits = Limits()
    rounds: list[tuple[float, float]] = []
    for r in range(args.rounds):
        t_sand = t_plain = 0.0
        for i, p in enumerate(problems):
            completion = f"```python\n{p.reference}```\n"
            order = ("sandbox", "plain") if (i + r) % 2 == 0 else ("plain", "sandbox")
            for which in order:
                t0 = time.perf_counter()
                if which == "sandbox":
                    res = run_rollout(p, completion, seed=i, sandbox=sandbox, limits=limits)
                    assert res.reward == 1.0 and not res.findings, (p.id, res.findings)
                    t_sand += time.perf_counter() - t0
                else:
                    assert plain_pass_rate(p, p.reference or "", i) == 1.0, p.id
                    t_plain += time.perf_counter() - t0
        rounds.append((t_sand, t_plain))
        print(
            f"round {r + 1}: sandbox+detection {len(problems) / t_sand:6.2f} rollouts/s   "
            f"plain executor {len(problems) / t_plain:6.2f} rollouts/s   "
            f"ratio {t_sand / t_plain:.3f}"
        )
    tests = sum(len(p.tests) for p in problems)
    ratio = statistics.median(s / p for s, p in rounds)
    print(f"\n{len(problems)} rollouts ({tests} test executions) per round, {args.rounds} rounds")
    print(
        f"sandbox+detection: {statistics.median(len(problems) / s for s, _ in rounds):.2f} "
        f"rollouts/s (median)"
    )
    print(
        f"plain executor:    {statistics.median(len(problems) / p for _, p in rounds):.2f} "
        f"rollouts/s (median)"
    )
    print(f"wall-time ratio sandbox/plain: {ratio:.3f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
