"""A local Hugging Face causal LM directory (CPU or GPU), with batched generation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.models.base import Generation, Message, Policy, SamplingParams


def check_model_dir(path: str | Path) -> Path:
    """A directory that holds a causal LM: a config.json with a *ForCausalLM architecture."""
    p = Path(path)
    if not p.is_dir():
        raise TrainriskError(f"model directory {p} does not exist")
    config = p / "config.json"
    if not config.is_file():
        raise TrainriskError(f"{p} is not a Hugging Face model directory (no config.json)")
    import json

    archs = json.loads(config.read_text()).get("architectures") or []
    if archs and not any(a.endswith("ForCausalLM") for a in archs):
        raise TrainriskError(f"{p} holds a {', '.join(archs)}, not a causal language model")
    return p


class HFPolicy(Policy):
    def __init__(self, path: str | Path, batch_size: int = 8, device: str | None = None) -> None:
        self.path = check_model_dir(path)
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise TrainriskError(
                "local models need torch and transformers: pip install 'trainrisk[train]'"
            ) from None
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype)
        self.model = model.to(self.device)  # type: ignore[arg-type]
        self.model.eval()
        self.batch_size = batch_size
        self.name = self.path.name

    def generate_iter(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int]
    ) -> Iterator[tuple[int, Generation]]:
        torch = self.torch
        for start in range(0, len(conversations), self.batch_size):
            chunk = conversations[start : start + self.batch_size]
            t0 = time.perf_counter()
            texts = [
                self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                for c in chunk
            ]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
            torch.manual_seed(seeds[start])
            with torch.no_grad():
                out = self.model.generate(
                    **enc,
                    max_new_tokens=params.max_tokens,
                    do_sample=params.temperature > 0,
                    temperature=params.temperature or None,
                    top_p=params.top_p,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = out[:, enc["input_ids"].shape[1] :]
            seconds = (time.perf_counter() - t0) / len(chunk)
            for j, row in enumerate(new):
                n = int((row != self.tokenizer.pad_token_id).sum())
                text = str(self.tokenizer.decode(row, skip_special_tokens=True))
                yield (
                    start + j,
                    Generation(
                        text,
                        n,
                        int(enc["attention_mask"][j].sum()),
                        "length" if n >= params.max_tokens else "stop",
                        seconds,
                    ),
                )

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "name": self.name,
            "path": str(self.path.resolve()),
            "device": self.device,
        }
