"""The OpenAI-compatible client: retries transient failures, explains permanent ones."""

from __future__ import annotations

import socket

import pytest

from tests.fake_server import FakeChatServer, serve
from trainrisk.models.openai_client import ServerConfig, ServerError, chat

MSG = [{"role": "user", "content": "hi"}]


def test_retries_server_errors_then_succeeds():
    fake = FakeChatServer(["hello"], fail_first=2, fail_status=503)
    with serve(fake) as url:
        assert chat(ServerConfig(url, "fake-judge", retries=3), MSG) == "hello"
    assert len(fake.requests) == 3


def test_rate_limit_is_retried():
    fake = FakeChatServer(["ok"], fail_first=1, fail_status=429)
    with serve(fake) as url:
        assert chat(ServerConfig(url, "fake-judge", retries=2), MSG) == "ok"


def test_unknown_model_is_a_clear_error():
    with serve(FakeChatServer()) as url, pytest.raises(ServerError, match="does not serve model"):
        chat(ServerConfig(url, "nope"), MSG)


def test_unreachable_server_is_a_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ServerError, match="cannot reach the model server"):
        chat(ServerConfig(f"http://127.0.0.1:{port}/v1", "m", retries=1), MSG)


def test_gives_up_after_retries():
    fake = FakeChatServer(fail_first=10, fail_status=500)
    with serve(fake) as url, pytest.raises(ServerError, match="gave up after 2 attempts"):
        chat(ServerConfig(url, "fake-judge", retries=1), MSG)
