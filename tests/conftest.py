"""Shared fixtures: sandboxes, tiny problems, and a judge helper. Everything runs offline."""

from __future__ import annotations

import textwrap

import pytest

from trainrisk.problems import Problem, TestCase, get_problem
from trainrisk.rollout import RolloutResult, run_rollout
from trainrisk.sandbox import BwrapSandbox, Limits, PlainSandbox, Sandbox
from trainrisk.sandbox.bwrap import bwrap_problem

needs_bwrap = pytest.mark.skipif(
    bwrap_problem() is not None, reason=f"bubblewrap unusable: {bwrap_problem()}"
)

# One test case keeps attack programs (which often run into limits) fast.
ECHO_SUM = Problem(
    id="echo-sum",
    title="Echo sum",
    statement="Print the sum of two integers.",
    tests=(TestCase("2 3\n", "5\n"),),
    difficulty="easy",
    time_limit=2.0,
)
FAST_LIMITS = Limits(
    wall_time=2.0, memory_mb=512, max_processes=64, disk_mb=32, tmp_mb=16, output_kb=256
)


@pytest.fixture(scope="session")
def bwrap() -> Sandbox:
    if bwrap_problem() is not None:
        pytest.skip(f"bubblewrap unusable: {bwrap_problem()}")
    return BwrapSandbox()


@pytest.fixture(scope="session")
def plain() -> Sandbox:
    return PlainSandbox(quiet=True)


def clean(code: str) -> str:
    """Dedent a snippet whose first line starts right after the opening quotes."""
    first, _, rest = code.strip("\n").partition("\n")
    return (first.strip() + "\n" + textwrap.dedent(rest)).strip() + "\n"


def program(code: str) -> str:
    """A completion as a model would write it: prose plus a fenced python block."""
    return f"Here is my solution.\n```python\n{code}```\n"


def judge(
    sandbox: Sandbox,
    code: str,
    problem: Problem = ECHO_SUM,
    seed: int = 0,
    limits: Limits = FAST_LIMITS,
) -> RolloutResult:
    return run_rollout(problem, program(code), seed=seed, sandbox=sandbox, limits=limits)


def subtypes(r: RolloutResult) -> set[str]:
    return {f["subtype"] for f in r.findings}


@pytest.fixture(scope="session")
def a_plus_b() -> Problem:
    return get_problem("a-plus-b")
