"""A small client for OpenAI-compatible chat servers (vLLM, Ollama, llama.cpp, OpenAI).

Retries with exponential backoff on rate limits, server errors and timeouts; turns an
unreachable server or an unknown model into a clear TrainriskError.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from trainrisk.errors import TrainriskError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class ServerError(TrainriskError):
    """The model server is unreachable, refused the request, or does not know the model."""


@dataclass(frozen=True)
class ServerConfig:
    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    retries: int = 5

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env)


def chat(
    cfg: ServerConfig,
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int = 512,
    seed: int | None = None,
) -> str:
    """One chat completion; returns the assistant's text."""
    body: dict[str, Any] = {
        "model": cfg.model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }
    if seed is not None:
        body["seed"] = seed
    data = _post(cfg, "/chat/completions", body)
    try:
        return data["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise ServerError(
            f"{cfg.base_url}: unexpected response (no choices[0].message): {json.dumps(data)[:300]}"
        ) from None


def list_models(cfg: ServerConfig) -> list[str] | None:
    """The model ids the server lists, or None when it has no /models endpoint."""
    req = urllib.request.Request(cfg.base_url.rstrip("/") + "/models", headers=_headers(cfg))
    try:
        with urllib.request.urlopen(req, timeout=min(cfg.timeout, 30)) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise ServerError(
                f"{cfg.base_url} refused the API key from ${cfg.api_key_env} (HTTP {exc.code})"
            ) from None
        return None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise ServerError(
            f"cannot reach the model server at {cfg.base_url}: "
            f"{getattr(exc, 'reason', exc)}. Is it running?"
        ) from None
    except json.JSONDecodeError:
        return None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return [str(m.get("id")) for m in items if isinstance(m, dict)]


def _headers(cfg: ServerConfig) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if cfg.api_key:
        headers["Authorization"] = f"Bearer {cfg.api_key}"
    return headers


def _post(cfg: ServerConfig, path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = cfg.base_url.rstrip("/") + path
    headers = _headers(cfg)
    payload = json.dumps(body).encode()
    last = ""
    for attempt in range(cfg.retries + 1):
        req = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")[:500]
            if exc.code == 404 or ("model" in text.lower() and exc.code in (400, 404)):
                raise ServerError(
                    f"{cfg.base_url} does not serve model {cfg.model!r} (HTTP {exc.code}): {text}"
                ) from None
            if exc.code in (401, 403):
                raise ServerError(
                    f"{cfg.base_url} refused the API key from ${cfg.api_key_env} "
                    f"(HTTP {exc.code}): {text}"
                ) from None
            if exc.code not in RETRY_STATUS:
                raise ServerError(f"{cfg.base_url}: HTTP {exc.code}: {text}") from None
            last = f"HTTP {exc.code}: {text}"
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if (
                attempt == 0
                and isinstance(reason, ConnectionRefusedError | OSError)
                and "refused" in str(reason).lower()
            ):
                raise ServerError(
                    f"cannot reach the model server at {cfg.base_url}: {reason}. Is it running?"
                ) from None
            last = f"{type(exc).__name__}: {reason}"
        except json.JSONDecodeError:
            last = "the server answered with something that is not JSON"
        if attempt < cfg.retries:
            time.sleep(min(30.0, 0.5 * 2**attempt) * (0.5 + random.random()))
    raise ServerError(
        f"{cfg.base_url}: gave up after {cfg.retries + 1} attempts; last error: {last}"
    )
