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

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from equipage.httpserver import LocalServer

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
        self._http: LocalServer | None = None

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies of the messages accepted, in order."""
        return [r.body for r in self.requests]

    def fail_next(self, status: int, retry_after: float | None = None) -> None:
        """Answer the next send with ``status`` (and a ``Retry-After`` header if given)."""
        self._failures.append((status, retry_after))

    async def __aenter__(self) -> Self:
        self._http = LocalServer(
            Starlette(routes=[Route("/{phone_number_id}/messages", self._send, methods=["POST"])])
        )
        self.base_url = await self._http.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.stop()

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
