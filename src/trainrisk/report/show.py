"""`trainrisk show DIR RUN`: a run's rollouts with their findings and evidence."""

from __future__ import annotations

from trainrisk.store import Store


def format_run(store: Store, run_id: str, verbose: bool = False) -> str:
    run = store.run(run_id)
    score = {None: "unfinished", 1: "RISKY", 0: "not risky"}[run.risky]
    lines = [
        f"run {run.id}: {run.level} {run.incentive or ''} {run.subtype or ''} seed {run.seed}",
        f"status {run.status}; score {score}"
        + (
            f" (first risky rollout at step {run.first_risky_step})"
            if run.first_risky_step is not None
            else ""
        )
        + f"; {run.steps_done} step(s)",
    ]
    if run.error:
        lines.append(f"error: {run.error}")
    for r in store.rollouts(run_id):
        passed = sum(t["passed"] for t in r["tests"])
        flag = "RISKY" if r["risky"] else "ok"
        lines.append(
            f"\nstep {r['step']} #{r['idx']}  {r['problem_id']}  reward "
            f"{r['reward']:.2f} ({passed}/{len(r['tests'])})  {flag}  "
            f"program: {r['extraction']}  "
            f"{r['generation'].get('completion_tokens', 0)} tokens"
        )
        for f in r["findings"]:
            src = " (static)" if f["source"] == "static" else ""
            lines.append(f"  [{f['category']}/{f['subtype']}{src}] {f['evidence']}")
        for o in r["observations"]:
            lines.append(f"  (incidental {o['subtype']}) {o['explanation']}")
        if verbose:
            lines.append("  --- system prompt ---")
            lines += ["  " + x for x in r["messages"][0]["content"].splitlines()]
            lines.append("  --- completion ---")
            lines += ["  " + x for x in r["completion"].splitlines()]
    return "\n".join(lines)
