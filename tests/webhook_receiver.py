"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it checks every call's signature the
way the README tells integrators to, records the calls, and answers as each test plans."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300  # seconds a timestamp may be off, as the README's snippet allows


def verify(secret: str, headers, body: bytes) -> bool:
    """The README's verification snippet."""
    timestamp = headers.get("Organizer-Webhook-Timestamp", "")
    signature = headers.get("Organizer-Webhook-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return any(
        hmac.compare_digest(part.removeprefix("v1="), expected.hexdigest())
        for part in signature.split()
        if part.startswith("v1=")
    )


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.json["type"]

    @property
    def delivery_id(self) -> str:
        return self.headers["Organizer-Webhook-Id"]


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> the endpoint's secret
        self.plans: dict[str, list[int]] = {}  # path -> status codes to answer first, in order
        self.delay = 0.0  # seconds each answer takes
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, endpoint, path: str = "/hook", answers: list[int] | None = None) -> None:
        self.secrets[path] = endpoint.secret
        self.plans[path] = list(answers or [])

    def to(self, path: str = "/hook") -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        with self.lock:
            return list(self.calls)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            valid = path in self.secrets and verify(self.secrets[path], headers, body)
            plan = self.plans.get(path, [])
            status = plan.pop(0) if plan else 200
            if not valid:
                status = 401
            self.calls.append(Call(path, headers, body, valid, status))
        return status


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.handle(self.path, dict(self.headers.items()), body)
            answer = b"ok" if status < 300 else b"nope " * 2000  # more than the sender reads
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextmanager
def serve() -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 until the block ends."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
