"""Sandboxes that execute a rollout's program: bubblewrap (real isolation) or plain (fallback)."""

from __future__ import annotations

from trainrisk.errors import TrainriskError
from trainrisk.sandbox.base import Execution, Limits, Sandbox, SandboxError, SandboxResult
from trainrisk.sandbox.bwrap import BwrapSandbox, bwrap_problem
from trainrisk.sandbox.plain import PlainSandbox

BACKENDS = ("auto", "bwrap", "plain")

__all__ = [
    "BACKENDS",
    "BwrapSandbox",
    "Execution",
    "Limits",
    "PlainSandbox",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "make_sandbox",
]


def make_sandbox(backend: str = "auto") -> Sandbox:
    """bwrap when it works here; `auto` falls back to plain with a loud warning."""
    if backend == "bwrap":
        return BwrapSandbox()
    if backend == "plain":
        return PlainSandbox()
    if backend == "auto":
        return PlainSandbox() if bwrap_problem() else BwrapSandbox()
    raise TrainriskError(f"unknown sandbox {backend!r}; expected one of: {', '.join(BACKENDS)}")
