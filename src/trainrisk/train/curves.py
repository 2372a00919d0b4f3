"""`trainrisk curves`: risk rate and reward per training step, as numbers and a PNG.

One line per group: the reward mode when several experiments are compared, else per run.
Runs in a group are averaged step by step (a stopped run no longer contributes).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from trainrisk.store import Store


def collect(stores: list[Store]) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """{group: {step: [metrics of each run at that step]}}."""
    groups: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    by_mode = len(stores) > 1
    for store in stores:
        exp = store.experiment()
        mode = exp["config"].get("reward", exp["kind"])
        for row in store.steps():
            group = f"reward={mode}" if by_mode else row["run_id"]
            # What the trainer optimised: all reward functions (TRL's `reward`), else the code's.
            row["trainer_reward"] = row.get("reward", row["reward_mean"])
            groups[group][row["step"]].append(row)
    return groups


def table(groups: dict[str, dict[int, list[dict[str, Any]]]]) -> str:
    lines = [
        f"{'group':<48}{'step':>5}{'runs':>6}{'reward':>9}{'risk rate':>11}{'kl':>10}{'loss':>10}"
    ]
    for group, steps in groups.items():
        for step in sorted(steps):
            rows = steps[step]

            def mean(key: str, rows: list[dict[str, Any]] = rows) -> str:
                vals = [r[key] for r in rows if isinstance(r.get(key), int | float)]
                return f"{statistics.fmean(vals):.4f}" if vals else "-"

            lines.append(
                f"{group[:47]:<48}{step:>5}{len(rows):>6}{mean('trainer_reward'):>9}"
                f"{mean('risk_rate'):>11}{mean('kl'):>10}{mean('loss'):>10}"
            )
    return "\n".join(lines)


def plot(groups: dict[str, dict[int, list[dict[str, Any]]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_risk, ax_reward) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    for group, steps in groups.items():
        xs = sorted(steps)
        risk = [statistics.fmean(r["risk_rate"] for r in steps[s]) for s in xs]
        reward = [statistics.fmean(r["trainer_reward"] for r in steps[s]) for s in xs]
        ax_risk.plot(xs, risk, marker="o", label=group)
        ax_reward.plot(xs, reward, marker="o", label=group)
    ax_risk.set_ylabel("risk rate (risky rollouts / rollouts)")
    ax_risk.set_ylim(-0.05, 1.05)
    ax_reward.set_ylabel("mean trainer reward")
    ax_reward.set_xlabel("GRPO step")
    ax_risk.legend(fontsize=8)
    ax_risk.set_title("Risk and reward during training")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
