"""A fake WhatsApp Cloud (Graph) API on 127.0.0.1 for the WhatsApp channel's tests.

    async with FakeGraph(token="t") as fake:
        channel = WhatsAppChannel("t", phone_number_id="1", ..., base_url=fake.base_url)
        ...
        fake.sent[0]["text"]["body"]

It serves ``POST /{phone_number_id}/messages``, checks the bearer token, records each JSON
body (with when it came, ``time.monotonic()``) and answers like Graph: the message ids, or
Graph's error JSON. ``fail_next`` queues error answers, e.g. 429 with ``Retry-After``.
Media: ``add_media(id, data, mime)`` serves ``GET /{media-id}`` (the media's JSON, with a
signed ``url``) and that URL, both only with the bearer token, like Graph and its CDN.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer

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


class FakeGraph(FakeServer):
    """The fake server; ``async with`` starts it on a free port and stops it."""

    def __init__(self, *, token: str = "test-token") -> None:
        super().__init__()
        self.token = token
        self.requests: list[GraphRequest] = []
        self.attempts: list[float] = []  # every POST, failed ones included
        self.media_requests: list[str] = []  # media ids asked for, then "download:<id>"
        self._media: dict[str, tuple[bytes, str, int]] = {}
        self._signature = secrets.token_hex(8)
        self._failures: deque[tuple[int, float | None]] = deque()

    @property
    def base_url(self) -> str:
        """The Graph API base URL to give the channel (empty until the server is started)."""
        return self.origin if self.started else ""

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies of the messages accepted, in order."""
        return [r.body for r in self.requests]

    def add_media(self, media_id: str, data: bytes, mime: str, *, size: int | None = None) -> str:
        """Serve ``data`` as media ``media_id``; returns its signed URL's secret part."""
        self._media[media_id] = (data, mime, len(data) if size is None else size)
        return self._signature

    def fail_next(self, status: int, retry_after: float | None = None) -> None:
        """Answer the next send with ``status`` (and a ``Retry-After`` header if given)."""
        self._failures.append((status, retry_after))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{phone_number_id}/messages", self._send, methods=["POST"]),
            Route("/lookaside/{media_id}", self._download, methods=["GET"]),
            Route("/{media_id}", self._media_info, methods=["GET"]),
        ]

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

    async def _media_info(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "OAuthException", "Invalid OAuth access token.")
        media_id = request.path_params["media_id"]
        self.media_requests.append(media_id)
        if media_id not in self._media:
            return _error(400, 100, "GraphMethodException", "Unsupported get request.")
        data, mime, size = self._media[media_id]
        url = f"{self.base_url}/lookaside/{media_id}?ext=1&hash={self._signature}"
        return JSONResponse(
            {"messaging_product": "whatsapp", "url": url, "mime_type": mime,
             "sha256": hashlib.sha256(data).hexdigest(), "file_size": size, "id": media_id}
        )  # fmt: skip

    async def _download(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        self.media_requests.append(f"download:{media_id}")
        signed = request.query_params.get("hash") == self._signature
        if request.headers.get("authorization") != f"Bearer {self.token}" or not signed:
            return Response(status_code=401)
        if media_id not in self._media:
            return Response(status_code=404)
        data, mime, _ = self._media[media_id]
        return Response(data, media_type=mime)


def _error(
    status: int, code: int, type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    trace = secrets.token_urlsafe(16)
    body = {"error": {"message": message, "type": type, "code": code, "fbtrace_id": trace}}
    return JSONResponse(body, status, headers)
