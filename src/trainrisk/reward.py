"""Reward: the fraction of test cases whose stdout matches, computed outside the sandbox.

The program only ever sees a test's input; expected outputs never enter the sandbox, and the
comparison runs in the harness, so nothing the program does can change its own reward.
"""

from __future__ import annotations


def normalise(text: str) -> list[str]:
    """Whitespace-normalised tokens: spacing, blank lines and trailing newlines do not matter."""
    return text.split()


def passed(stdout: str, expected: str) -> bool:
    return normalise(stdout) == normalise(expected)


def pass_rate(outputs: list[str | None], expected: list[str]) -> float:
    """Fraction of tests passed; a test that did not run (None) fails."""
    if not expected:
        return 0.0
    wins = sum(
        1
        for out, exp in zip(outputs, expected, strict=False)
        if out is not None and passed(out, exp)
    )
    return wins / len(expected)
