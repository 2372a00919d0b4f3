"""OpenAI-compatible servers (vLLM, Ollama, llama.cpp's server, OpenAI) as a policy.

Requests run concurrently; each is retried with backoff by the client. The server and the
model are checked once at start, so a typo fails before the experiment begins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from trainrisk.models.base import Generation, Message, Policy, SamplingParams
from trainrisk.models.openai_client import ServerConfig, ServerError, chat, list_models


class ServerPolicy(Policy):
    def __init__(self, cfg: ServerConfig, concurrency: int = 8, check: bool = True) -> None:
        self.cfg = cfg
        self.name = cfg.model
        self.concurrency = max(1, concurrency)
        if check:
            models = list_models(cfg)
            if models is not None and cfg.model not in models:
                raise ServerError(
                    f"{cfg.base_url} does not serve model {cfg.model!r}; it "
                    f"serves: {', '.join(models) or '(none)'}"
                )

    def _one(self, conv: list[Message], params: SamplingParams, seed: int) -> Generation:
        t0 = time.perf_counter()
        text = chat(
            self.cfg, conv, temperature=params.temperature, max_tokens=params.max_tokens, seed=seed
        )
        return Generation(text, len(text.split()), 0, "", time.perf_counter() - t0)

    def generate_iter(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> Iterator[tuple[int, Generation]]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = {
                pool.submit(self._one, c, params, s): i
                for i, (c, s) in enumerate(zip(conversations, seeds, strict=True))
            }
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "name": self.cfg.model, "base_url": self.cfg.base_url}
