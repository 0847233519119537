"""A fake WhatsApp Cloud (Graph) API on 127.0.0.1 for the WhatsApp channel's tests.

    async with FakeGraph(token="t") as fake:
        channel = WhatsAppChannel("t", phone_number_id="1", ..., base_url=fake.base_url)
        ...
        fake.sent[0]["text"]["body"]

It serves ``POST /{phone_number_id}/messages``, checks the bearer token, records each JSON
body (with when it came, ``time.monotonic()``) and answers like Graph: the message ids, or
Graph's error JSON. ``fail_next`` queues error answers, e.g. 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import socket
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["FakeGraph", "GraphRequest", "sign"]


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body`` for an app ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class GraphRequest:
    """One accepted send: the phone number id in the path, the JSON body, when it came."""

    phone_number_id: str
    body: dict[str, Any]
    time: float


class FakeGraph:
    """The fake server; ``async with`` starts it on a free port and stops it."""

    def __init__(self, *, token: str = "test-token") -> None:
        self.token = token
        self.requests: list[GraphRequest] = []
        self.attempts: list[float] = []  # every POST, failed ones included
        self.base_url = ""
        self._failures: deque[tuple[int, float | None]] = deque()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies of the messages accepted, in order."""
        return [r.body for r in self.requests]

    def fail_next(self, status: int, retry_after: float | None = None) -> None:
        """Answer the next send with ``status`` (and a ``Retry-After`` header if given)."""
        self._failures.append((status, retry_after))

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = Starlette(routes=[Route("/{phone_number_id}/messages", self._send, methods=["POST"])])
        config = uvicorn.Config(
            app, log_config=None, log_level="warning", lifespan="off", ws="none", http="h11"
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Graph API did not start within 10 s")
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def _send(self, request: Request) -> JSONResponse:
        self.attempts.append(time.monotonic())
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "OAuthException", "Invalid OAuth access token.")
        if self._failures:
            status, retry_after = self._failures.popleft()
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            return _error(
                status, 4 if status == 429 else 2, "OAuthException", "Try later.", headers
            )
        body = await request.json()
        if body.get("messaging_product") != "whatsapp" or not body.get("to"):
            return _error(400, 100, "OAuthException", "(#100) Invalid parameter")
        phone_number_id = request.path_params["phone_number_id"]
        self.requests.append(GraphRequest(phone_number_id, body, time.monotonic()))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": f"wamid.{secrets.token_hex(12)}"}],
            }
        )


def _error(
    status: int, code: int, type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    trace = secrets.token_urlsafe(16)
    body = {"error": {"message": message, "type": type, "code": code, "fbtrace_id": trace}}
    return JSONResponse(body, status, headers)


class _Server(uvicorn.Server):
    """Leaves SIGINT and SIGTERM to the test runner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
