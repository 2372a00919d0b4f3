"""Policies: the embedded model, OpenAI-compatible servers, local HF directories, scripted."""

from __future__ import annotations

import os
from pathlib import Path

from trainrisk.errors import TrainriskError
from trainrisk.models.base import Generation, Message, Policy, SamplingParams

__all__ = ["Generation", "Message", "Policy", "SamplingParams", "make_policy"]

SPEC_HELP = (
    "embedded (default: SmolLM2-135M-Instruct via llama.cpp) | openai:MODEL (an OpenAI-compatible "
    "server, see --base-url) | hf:DIR or a model directory | scripted:FILE_OR_DIR"
)


def make_policy(
    spec: str | None,
    *,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    concurrency: int = 8,
) -> Policy:
    """Build the policy a --model SPEC names; unknown forms get an error listing the valid ones."""
    spec = spec or "embedded"
    if spec == "embedded":
        from trainrisk.models.embedded import EmbeddedPolicy

        return EmbeddedPolicy()
    kind, _, rest = spec.partition(":")
    if kind == "openai" and rest:
        from trainrisk.models.openai_client import ServerConfig
        from trainrisk.models.server import ServerPolicy

        url = base_url or os.environ.get("OPENAI_BASE_URL") or "http://localhost:8000/v1"
        return ServerPolicy(ServerConfig(url, rest, api_key_env), concurrency)
    if kind == "scripted" and rest:
        from trainrisk.models.scripted import ScriptedPolicy

        return ScriptedPolicy.from_path(rest)
    if (kind == "hf" and rest) or Path(spec).is_dir():
        from trainrisk.models.hf import HFPolicy

        return HFPolicy(rest if kind == "hf" else spec)
    raise TrainriskError(f"unknown model {spec!r}; expected one of: {SPEC_HELP}")
