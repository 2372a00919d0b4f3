"""A tiny OpenAI-compatible chat server for offline tests: answers from a queue, records
requests, and can fail on demand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeChatServer:
    def __init__(
        self,
        answers: list[str] | None = None,
        model: str = "fake-judge",
        fail_first: int = 0,
        fail_status: int = 503,
    ) -> None:
        self.answers = list(answers or [])
        self.model = model
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def reply(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(body)
            if self.fail_first > 0:
                self.fail_first -= 1
                return self.fail_status, {"error": {"message": "busy"}}
            if body.get("model") != self.model:
                return 404, {"error": {"message": f"model {body.get('model')} not found"}}
            text = self.answers.pop(0) if self.answers else "INCIDENTAL. Default answer."
        return 200, {"choices": [{"message": {"role": "assistant", "content": text}}]}


@contextmanager
def serve(fake: FakeChatServer) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            status, payload = fake.reply(json.loads(self.rfile.read(length)))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
