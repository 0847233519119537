"""A fake Slack Web API on 127.0.0.1, for the real slack_sdk client, plus request signing.

    async with FakeSlack(token="xoxb-test") as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)

Only ``auth.test`` and ``chat.postMessage`` exist; every post is recorded with the
monotonic time it arrived, so tests can check pacing. ``rate_limit_next`` makes the next
call answer HTTP 429 with ``Retry-After``, as Slack does when a method's tier is exceeded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl

from pydantic import JsonValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from equipage.httpserver import LocalServer

__all__ = ["FakeSlack", "Posted", "sign"]

Json = dict[str, JsonValue]


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Headers Slack would send with ``body``: v0 HMAC-SHA256 over ``v0:<ts>:<body>``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Posted:
    """One ``chat.postMessage`` call as received, with its monotonic arrival time."""

    at: float
    body: Json


class FakeSlack:
    """Answers the Web API methods the Slack channel uses; records what it was sent."""

    def __init__(self, token: str = "xoxb-test", *, bot_user: str = "U00FAKEBOT01") -> None:
        self.token = token
        self.bot_user = bot_user
        self.posted: list[Posted] = []
        self.rejected: list[tuple[int, str]] = []  # (status, method) of refused calls
        self._rate_limits: list[int] = []
        self._http: LocalServer | None = None
        self._port = 0
        self._ts = 0

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give slack_sdk, ending in ``/api/``."""
        return f"http://127.0.0.1:{self._port}/api/"

    def rate_limit_next(self, retry_after: int = 1) -> None:
        """Answer the next call with HTTP 429 and ``Retry-After: retry_after``."""
        self._rate_limits.append(retry_after)

    async def __aenter__(self) -> Self:
        self._http = LocalServer(
            Starlette(routes=[Route("/api/{method}", self._call, methods=["GET", "POST"])])
        )
        await self._http.start()
        self._port = self._http.port
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.stop()

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        if self._rate_limits:
            self.rejected.append((429, method))
            retry_after = str(self._rate_limits.pop(0))
            body = {"ok": False, "error": "ratelimited"}
            return JSONResponse(body, status_code=429, headers={"Retry-After": retry_after})
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            self.rejected.append((200, method))
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            args: Json = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
        if method == "auth.test":
            return JSONResponse({"ok": True, "user_id": self.bot_user, "team_id": "T00FAKE00AA"})
        if method == "chat.postMessage":
            return JSONResponse(self._post(args))
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)

    def _post(self, args: Json) -> Json:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        self.posted.append(Posted(time.monotonic(), args))
        self._ts += 1
        ts = f"{1767400000 + self._ts}.000100"
        message: Json = {"type": "message", "user": self.bot_user, "ts": ts, **args}
        message.pop("channel", None)
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}
