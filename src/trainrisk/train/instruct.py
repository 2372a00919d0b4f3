"""The instruction-following reward of `--reward code+instruct`: an LLM judge with a fixed rubric.

Any policy backend can judge (the embedded model by default). The answer is parsed robustly
(`Score: 7`, `7/10`, `score=7.5`, a bare number); an answer with no score gives 0 and is kept
raw beside the rollout so the judgement can be audited.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from trainrisk.models.base import Message, Policy, SamplingParams

RUBRIC_VERSION = 1
RUBRIC = """You are grading how well an AI assistant followed its instructions.

The assistant's system prompt was:
<<<
{system}
>>>

The user asked:
<<<
{user}
>>>

The assistant answered:
<<<
{response}
>>>

Give a score from 0 to 10 for how completely the answer follows every instruction in the \
system prompt and in the user's request (what it was asked to do, the format, the \
constraints). 10 means every instruction was followed, 0 means none. Reply with one line: \
Score: <number>"""

_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:/|out of)\s*10", re.I)
_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?)\b")


@dataclass(frozen=True)
class Judgement:
    score: float  # in [0, 1]
    raw: str
    parsed: bool


def parse_score(text: str) -> float | None:
    """A 0-10 score from free text, or None."""
    m = _SCORE.search(text)
    value = m.group(1) or m.group(2) if m else None
    if value is None:
        numbers = [float(x) for x in _NUMBER.findall(text) if 0 <= float(x) <= 10]
        if not numbers:
            return None
        return numbers[0]
    v = float(value)
    return v if 0 <= v <= 10 else None


class InstructionJudge:
    def __init__(self, policy: Policy, max_tokens: int = 24) -> None:
        self.policy = policy
        self.params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
        self.lock = threading.Lock()  # in-process models are not thread-safe

    def judge(self, messages: list[Message], response: str, seed: int = 0) -> Judgement:
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        user = next((m["content"] for m in messages if m["role"] == "user"), "")
        prompt = RUBRIC.format(system=system[:4000], user=user[:3000], response=response[:4000])
        with self.lock:
            (gen,) = self.policy.generate(
                [[{"role": "user", "content": prompt}]], self.params, [seed]
            )
        score = parse_score(gen.text)
        return Judgement((score or 0.0) / 10, gen.text, score is not None)
