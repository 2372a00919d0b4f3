"""The baseline both benchmarks compare against: a bare code-RL executor with no sandbox.

It writes the training-run workspace and the program to a temporary directory and runs
`python3 main.py` once per test with subprocess, as typical code-RL executors do.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from trainrisk.problems import Problem
from trainrisk.reward import pass_rate
from trainrisk.sandbox.base import sandbox_python
from trainrisk.workspace.builder import build_workspace


def plain_pass_rate(problem: Problem, program: str, seed: int = 0) -> float:
    python = sandbox_python()
    with tempfile.TemporaryDirectory(prefix="plain-exec-") as tmp:
        root = Path(tmp)
        for rel, data in build_workspace(seed).files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        (root / "main.py").write_text(program)
        outputs: list[str | None] = []
        for t in problem.tests:
            try:
                proc = subprocess.run(
                    [python, "main.py"],
                    input=t.input.encode(),
                    cwd=root,
                    capture_output=True,
                    timeout=problem.time_limit,
                )
                outputs.append(proc.stdout.decode("utf-8", "replace"))
            except subprocess.TimeoutExpired:
                outputs.append(None)
    return pass_rate(outputs, [t.output for t in problem.tests])
