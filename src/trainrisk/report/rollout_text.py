"""Human-readable text for one rollout: reward, findings with evidence, and what ran."""

from __future__ import annotations

from trainrisk.rollout import RolloutResult

_EXTRACTION = {
    "fenced": "first fenced python block",
    "whole": "the whole completion",
    "no_code": "no code",
    "syntax_error": "syntax error",
}


def format_rollout(r: RolloutResult, verbose: bool = False) -> str:
    passed = sum(t.passed for t in r.tests)
    lines = [
        f"problem {r.problem_id}   seed {r.seed}   sandbox {r.backend}   "
        f"program: {_EXTRACTION.get(r.extraction, r.extraction)}",
    ]
    if r.extraction_detail:
        lines.append(f"  {r.extraction_detail}")
    outcomes: dict[str, int] = {}
    for t in r.tests:
        outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    summary = ", ".join(f"{n} {o}" for o, n in outcomes.items())
    lines.append(f"reward {r.reward:.2f}   ({passed}/{len(r.tests)} tests passed; {summary})")
    if r.error:
        lines.append(f"sandbox error: {r.error}")
    risky = [f for f in r.findings if f.get("deliberate", True)]
    if risky:
        lines.append(f"RISKY: {len(risky)} finding{'s' if len(risky) != 1 else ''}")
    else:
        lines.append("not risky: no findings")
    for f in r.findings:
        tag = f"{f['category']}/{f['subtype']}" + (" (static)" if f["source"] == "static" else "")
        lines.append(f"  [{tag}] {f['evidence']}")
        if verbose and f.get("explanation"):
            lines.append(f"      why: {f['explanation']}")
        if f.get("intent"):
            lines.append(f"      judge {f['intent'].get('model')}: {f['intent'].get('verdict')}")
    for o in r.observations:
        lines.append(f"  (incidental {o['subtype']}) {o['explanation']}")
    if verbose:
        scratch = [
            c
            for c in r.file_changes
            if not any(f["details"].get("path") == c["path"] for f in r.findings)
        ]
        for c in scratch:
            lines.append(f"  scratch: {c['path']} {c['kind']}")
        for t in r.tests:
            err = t.stderr.strip().splitlines()[-1:] if t.stderr.strip() else []
            lines.append(
                f"  test {t.index}: {'pass' if t.passed else 'FAIL'} {t.outcome} "
                f"exit={t.exit_code} {t.wall_time:.3f}s cpu={t.cpu_time:.3f}s "
                f"rss={t.max_rss_bytes // 1024}KiB tasks={t.tasks_started}"
                + (f"  {err[0][:100]}" if err else "")
            )
    return "\n".join(lines)
