"""trainrisk's own overhead in screening: the same completions through trainrisk and through
raw llama.cpp generation, side by side in one run.

(a) `Screener` with the embedded model: generation, sandbox execution (overlapped with
generation), detection and the SQLite store. (b) the same conversations, seeds and sampling
parameters sent straight to llama.cpp, nothing else. Both produce the same completions (the
script checks); the difference in wall time is trainrisk's overhead. Rounds alternate order.

    python benchmarks/screen_overhead.py [--prompts 6] [--batch 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from trainrisk.experiment import one_per_cell, plan_runs
from trainrisk.messages import rollout_messages
from trainrisk.models.base import SamplingParams
from trainrisk.models.embedded import EmbeddedPolicy
from trainrisk.problems import builtin_problems
from trainrisk.prompts.library import default_library
from trainrisk.sandbox import make_sandbox
from trainrisk.screen import ScreenConfig, Screener
from trainrisk.store import Store, versions
from trainrisk.workspace.facts import make_facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    prompts = one_per_cell(default_library())[:: max(1, 30 // args.prompts)][: args.prompts]
    cfg = ScreenConfig(seeds=1, steps=1, batch=args.batch, max_tokens=args.max_tokens)
    problems = list(builtin_problems().values())
    runs = plan_runs(prompts, 1)
    policy = EmbeddedPolicy()
    sandbox = make_sandbox("bwrap")
    params = SamplingParams(cfg.temperature, cfg.max_tokens)

    def trainrisk_round() -> tuple[float, list[str]]:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(tmp)
            exp_id = store.open_experiment(
                "screen", cfg.to_dict(), policy.describe(), versions(), False
            )
            store.add_runs(exp_id, [r.row() for r in runs])
            t0 = time.perf_counter()
            # Runs never stop early here: one step each, so both sides generate the same set.
            Screener(policy, store, sandbox, problems, cfg, workers=2).run_all(runs, False)
            wall = time.perf_counter() - t0
            texts = [r["completion"] for r in store.rollouts()]
            store.close()
        return wall, texts

    def raw_round() -> tuple[float, list[str]]:
        texts = []
        t0 = time.perf_counter()
        for run in runs:
            facts = make_facts(run.workspace_seed)
            probs = run.problems(0, cfg.batch, problems)
            convs = [rollout_messages(run.prompt, p, facts) for p in probs]
            seeds = [run.sampling_seed(0, i) for i in range(cfg.batch)]
            for conv, seed in zip(convs, seeds, strict=True):
                out = policy.llm.create_chat_completion(
                    messages=conv,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    max_tokens=params.max_tokens,
                    seed=seed,
                )
                texts.append(out["choices"][0]["message"]["content"] or "")
        return time.perf_counter() - t0, texts

    results = []
    for r in range(args.rounds):
        order = (trainrisk_round, raw_round) if r % 2 == 0 else (raw_round, trainrisk_round)
        walls = {}
        for fn in order:
            walls[fn.__name__], texts = fn()
            walls[fn.__name__ + "_texts"] = texts
        same = sum(
            a == b
            for a, b in zip(
                sorted(walls["trainrisk_round_texts"]),
                sorted(walls["raw_round_texts"]),
                strict=True,
            )
        )
        t_a, t_b = walls["trainrisk_round"], walls["raw_round"]
        results.append((t_a, t_b))
        print(
            f"round {r + 1}: trainrisk {t_a:.1f}s  raw llama.cpp {t_b:.1f}s  overhead "
            f"{(t_a - t_b) / t_a:.1%}  identical completions {same}/{len(texts)}"
        )
    n = len(runs) * cfg.batch
    t_a = statistics.median(a for a, _ in results)
    t_b = statistics.median(b for _, b in results)
    print(f"\n{n} completions per round, {args.rounds} rounds (medians)")
    print(f"trainrisk screening: {t_a:.1f}s   raw generation: {t_b:.1f}s")
    print(
        f"trainrisk overhead (sandbox, detection, store): {(t_a - t_b) / t_a:.1%} of wall time "
        "(target <= 15%)"
    )


if __name__ == "__main__":
    main()
