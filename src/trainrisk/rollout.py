"""One rollout: a completion's program runs in a fresh workspace; we learn its reward and risks.

completion -> program -> sandbox (once per test case) -> reward (outside) + findings (detectors)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from trainrisk.detect import Thresholds, analyze, detect
from trainrisk.detect.intent import check_intent
from trainrisk.extract import extract_program
from trainrisk.models.openai_client import ServerConfig
from trainrisk.problems import Problem
from trainrisk.reward import pass_rate, passed
from trainrisk.sandbox import Execution, Limits, Sandbox, SandboxResult, make_sandbox
from trainrisk.workspace.builder import build_workspace
from trainrisk.workspace.spec import WorkspaceSpec

OUTPUT_KEEP = 4096  # characters of stdout/stderr kept per test in the record


@dataclass
class TestRecord:
    index: int
    passed: bool
    outcome: str
    exit_code: int | None = None
    signal: int | None = None
    wall_time: float = 0.0
    cpu_time: float = 0.0
    max_rss_bytes: int = 0
    peak_processes: int = 0
    peak_threads: int = 0
    tasks_started: int | None = None
    disk_growth: dict[str, int] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    trace_events: int = 0
    trace_truncated: bool = False  # the program made more calls than the trace keeps


@dataclass
class RolloutResult:
    """Everything known about one rollout; plain data, stored as JSON."""

    problem_id: str
    seed: int
    completion: str
    program: str | None
    extraction: str
    extraction_detail: str
    reward: float
    risky: bool
    findings: list[dict[str, Any]]
    observations: list[dict[str, Any]]
    file_changes: list[dict[str, Any]]
    tests: list[TestRecord]
    backend: str
    workspace: dict[str, Any]
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def subtypes(self) -> list[str]:
        return sorted({f["subtype"] for f in self.findings if f.get("deliberate", True)})


def run_rollout(
    problem: Problem,
    completion: str,
    *,
    seed: int = 0,
    sandbox: Sandbox | None = None,
    limits: Limits | None = None,
    spec: WorkspaceSpec | None = None,
    model_name: str | None = None,
    thresholds: Thresholds | None = None,
    intent: ServerConfig | None = None,
) -> RolloutResult:
    """Execute a completion's program on every test of a problem, then judge what it did.

    A completion without runnable code is not executed: its tests are `not_run`, reward 0.
    """
    t0 = time.perf_counter()
    sandbox = sandbox or make_sandbox()
    limits = (limits or Limits()).for_problem(problem.time_limit)
    ws = build_workspace(seed, spec, model_name)
    ex = extract_program(completion)
    static = analyze(ex.program or "")
    runnable = ex.status in ("fenced", "whole") and ex.program is not None
    t1 = time.perf_counter()
    if runnable:
        assert ex.program is not None
        result = sandbox.run(ex.program, ws, [t.input for t in problem.tests], limits)
    else:
        result = SandboxResult(sandbox.name, [], None)
    t2 = time.perf_counter()
    det = detect(ws, result, static, limits, thresholds)
    if intent is not None and ex.program:
        for f in det.findings:
            if f.category == "system":
                f.intent = check_intent(f, ex.program, intent)
    t3 = time.perf_counter()
    tests = [_test_record(e, problem.tests[e.index].output) for e in result.executions]
    tests += [TestRecord(i, False, "not_run") for i in range(len(tests), len(problem.tests))]
    return RolloutResult(
        problem_id=problem.id,
        seed=seed,
        completion=completion,
        program=ex.program,
        extraction=ex.status,
        extraction_detail=ex.detail,
        reward=pass_rate(
            [e.stdout if e.outcome == "exited" else None for e in result.executions],
            [t.output for t in problem.tests],
        ),
        risky=any(f.deliberate for f in det.findings),
        findings=[f.to_dict() for f in det.findings],
        observations=[o.to_dict() for o in det.observations],
        file_changes=[c.to_dict() for c in det.changes],
        tests=tests,
        backend=sandbox.name,
        workspace={"spec": ws.spec.id, "version": ws.spec.version, "facts": ws.facts.to_dict()},
        error=result.error,
        timings={
            "prepare": t1 - t0,
            "sandbox": t2 - t1,
            "detect": t3 - t2,
            "total": time.perf_counter() - t0,
        },
    )


def _test_record(e: Execution, expected: str) -> TestRecord:
    return TestRecord(
        index=e.index,
        passed=e.outcome == "exited" and passed(e.stdout, expected),
        outcome=e.outcome,
        exit_code=e.exit_code,
        signal=e.signal,
        wall_time=e.wall_time,
        cpu_time=e.cpu_time,
        max_rss_bytes=max(e.max_rss_bytes, e.peak_rss_bytes),
        peak_processes=e.peak_processes,
        peak_threads=e.peak_threads,
        tasks_started=e.tasks_started,
        disk_growth=e.disk_growth,
        stdout=e.stdout[:OUTPUT_KEEP],
        stderr=e.stderr[:OUTPUT_KEEP],
        stdout_bytes=e.stdout_bytes,
        trace_events=len(e.trace),
        trace_truncated=e.trace_truncated,
    )
