"""The policy interface: anything that turns chat conversations into completions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@dataclass(frozen=True)
class Generation:
    text: str
    completion_tokens: int = 0
    prompt_tokens: int = 0
    finish_reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    max_tokens: int = 512
    top_p: float = 1.0


class Policy(ABC):
    """A model behind one small interface, picked on the command line with --model."""

    name: str = "policy"

    @abstractmethod
    def generate_iter(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> Iterator[tuple[int, Generation]]:
        """Yield (index, generation) for every conversation, in any order, as each is done."""

    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> list[Generation]:
        out: list[Generation | None] = [None] * len(conversations)
        for i, g in self.generate_iter(conversations, params, seeds):
            out[i] = g
        return [g for g in out if g is not None]

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What produced the completions, recorded with every experiment."""

    def close(self) -> None:  # noqa: B027 - optional hook, most policies hold nothing
        """Release the model (threads, memory)."""
