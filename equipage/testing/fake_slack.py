"""A fake Slack Web API and Socket Mode server on 127.0.0.1, for the real slack_sdk clients.

    async with FakeSlack(token="xoxb-test", app_token="xapp-test") as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)

Web API: ``auth.test``, ``chat.postMessage``, ``chat.update`` and
``apps.connections.open`` (app-level token only); every post and update is recorded
with the monotonic time it arrived, so tests can check pacing. Posted messages are kept
(``message``): ``chat.update`` changes one as Slack does, and answers
``message_not_found`` for a ts it never gave. ``rate_limit_next`` makes the next call
answer HTTP 429 with ``Retry-After``, as Slack does when a method's tier is exceeded.
``files`` are served at their ``url_private_download`` to the bot token only.
``Posted`` reads a call's ``text``, Block Kit ``blocks`` and ``buttons`` as typed values.

Socket Mode: ``apps.connections.open`` hands out a one-use ``ws://.../link/?ticket=``
URL; the socket says ``hello``, carries the envelopes ``push`` queues, records the
acknowledgements the client sends back (``acks``), and can ask the client to reconnect
(``disconnect``), be cut from the server side (``drop``) or refuse new ones
(``refuse_sockets``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Literal, NotRequired
from urllib.parse import parse_qsl, quote

from pydantic import ConfigDict, Field, JsonValue, TypeAdapter, with_config
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

# pydantic validates typing.TypedDict only from Python 3.12; typing_extensions comes with it.
from typing_extensions import TypedDict

from equipage.testing.fake_server import FakeServer

__all__ = [
    "Ack",
    "ActionsBlock",
    "Block",
    "Button",
    "ContextBlock",
    "FakeSlack",
    "Posted",
    "SectionBlock",
    "TextObject",
    "blocks",
    "sign",
]

Json = dict[str, JsonValue]
EnvelopeType = Literal["events_api", "slash_commands", "interactive"]


# Block Kit as the Slack channel writes it; extra keys are kept (extra="allow"), not dropped.
@with_config(ConfigDict(extra="allow"))
class TextObject(TypedDict):
    """A text: ``mrkdwn`` in a section, ``plain_text`` on a button or in a context."""

    type: Literal["mrkdwn", "plain_text"]
    text: str


@with_config(ConfigDict(extra="allow"))
class Button(TypedDict):
    type: Literal["button"]
    text: TextObject
    action_id: str
    value: str
    style: NotRequired[str]


@with_config(ConfigDict(extra="allow"))
class SectionBlock(TypedDict):
    type: Literal["section"]
    text: TextObject


@with_config(ConfigDict(extra="allow"))
class ActionsBlock(TypedDict):
    type: Literal["actions"]
    elements: list[Button]


@with_config(ConfigDict(extra="allow"))
class ContextBlock(TypedDict):
    type: Literal["context"]
    elements: list[TextObject]


Block = Annotated[SectionBlock | ActionsBlock | ContextBlock, Field(discriminator="type")]
_BLOCKS = TypeAdapter(list[Block])


def blocks(message: Json) -> list[Block]:
    """The Block Kit ``blocks`` of a message or of a call's arguments, checked and typed."""
    return _BLOCKS.validate_python(message["blocks"])


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Headers Slack would send with ``body``: v0 HMAC-SHA256 over ``v0:<ts>:<body>``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Posted:
    """One ``chat.postMessage`` (or ``chat.update``) call as received, with its monotonic
    arrival time and the ts of the message it made or changed."""

    at: float
    body: Json
    ts: str = ""

    @property
    def text(self) -> str:
        """The ``text`` argument: the message, or the notification and fallback of blocks."""
        text = self.body["text"]
        if not isinstance(text, str):
            raise TypeError(f"text is not a string: {text!r}")
        return text

    @property
    def blocks(self) -> list[Block]:
        """The ``blocks`` argument, checked and typed."""
        return blocks(self.body)

    @property
    def buttons(self) -> list[Button]:
        """The buttons of the ``actions`` blocks, in order."""
        return [e for b in self.blocks if b["type"] == "actions" for e in b["elements"]]


@dataclass(frozen=True)
class Ack:
    """One acknowledgement the client sent on the socket, with its monotonic arrival time."""

    at: float
    envelope_id: str
    payload: JsonValue = None


@dataclass
class _Link:
    """One open socket: what is queued for it, and whether it was told to go away."""

    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    leaving: bool = False


class FakeSlack(FakeServer):
    """Answers the Web API methods the Slack channel uses; records what it was sent."""

    def __init__(
        self,
        token: str = "xoxb-test",
        *,
        app_token: str = "xapp-1-A00FAKEAPP1-test",
        bot_user: str = "U00FAKEBOT01",
    ) -> None:
        super().__init__()
        self.token = token
        self.app_token = app_token
        self.bot_user = bot_user
        self.posted: list[Posted] = []
        self.updated: list[Posted] = []  # chat.update calls, as received
        self._messages: dict[tuple[str, str], Json] = {}  # (channel, ts) -> message
        self.rejected: list[tuple[int, str]] = []  # (status, method) of refused calls
        self.acks: list[Ack] = []
        self.opened = 0  # socket URLs handed out by apps.connections.open
        self.connected = 0  # sockets accepted
        self.refuse_sockets = False  # True: every socket handshake fails, as in an outage
        self.refused = 0  # socket handshakes refused
        self.files: dict[str, bytes] = {}  # path under /files/ -> content
        self._rate_limits: list[int] = []
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._waiting: list[str] = []  # envelopes pushed while no socket could carry them
        self._ts = 0

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give slack_sdk, ending in ``/api/``."""
        return f"{self.origin}/api/"

    @property
    def open_sockets(self) -> int:
        """Sockets the server still holds open."""
        return len(self._links)

    def message(self, channel: str, ts: str) -> Json:
        """A posted message as it stands after any updates, with ``ts`` (a copy)."""
        found: Json = json.loads(json.dumps(self._messages[(channel, ts)]))
        return found

    def file_url(self, name: str) -> str:
        """Where a file of ``files`` is served, as in a message's ``url_private_download``."""
        return f"{self.origin}/files/{quote(name)}"

    def rate_limit_next(self, retry_after: int = 1) -> None:
        """Answer the next call with HTTP 429 and ``Retry-After: retry_after``."""
        self._rate_limits.append(retry_after)

    def push(
        self,
        kind: EnvelopeType,
        payload: Json,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Queue an envelope for the newest socket (or the next one); returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope: Json = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind == "slash_commands",
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        text = json.dumps(envelope)
        staying = [link for link in self._links if not link.leaving]
        if staying:
            staying[-1].outbox.put_nowait(text)
        else:
            self._waiting.append(text)
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every open socket to reconnect, as Slack does before it recycles a server."""
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )
        for link in self._links:
            link.leaving = True
            link.outbox.put_nowait(message)

    def drop(self) -> None:
        """Close every open socket from the server side, without a word of warning."""
        for link in self._links:
            link.leaving = True
            link.outbox.put_nowait(None)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/{method}", self._call, methods=["GET", "POST"]),
            Route("/files/{name:path}", self._file, methods=["GET"]),
            WebSocketRoute("/link/", self._link),
        ]

    def _release(self) -> None:
        self.drop()

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        if self._rate_limits:
            self.rejected.append((429, method))
            retry_after = str(self._rate_limits.pop(0))
            body = {"ok": False, "error": "ratelimited"}
            return JSONResponse(body, status_code=429, headers={"Retry-After": retry_after})
        given = request.headers.get("authorization", "")
        if method == "apps.connections.open":
            return JSONResponse(self._open(given))
        if given != f"Bearer {self.token}":
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
        if method == "chat.update":
            return JSONResponse(self._update(args))
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)

    def _post(self, args: Json) -> Json:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        self._ts += 1
        ts = f"{1767400000 + self._ts}.000100"
        self.posted.append(Posted(time.monotonic(), args, ts))
        message: Json = {"type": "message", "user": self.bot_user, "ts": ts, **args}
        message.pop("channel", None)
        self._messages[(str(args["channel"]), ts)] = message
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _update(self, args: Json) -> Json:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if (channel, ts) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        self.updated.append(Posted(time.monotonic(), args, ts))
        message = self._messages[(channel, ts)]
        for name in ("text", "blocks"):
            if name in args:
                message[name] = args[name]
        message["edited"] = {"user": self.bot_user, "ts": f"{time.time():.6f}"}
        text = message.get("text", "")
        return {"ok": True, "channel": channel, "ts": ts, "text": text, "message": message}

    def _open(self, given: str) -> Json:
        # Slack answers a bot or user token here with not_allowed_token_type.
        if given.startswith(("Bearer xoxb-", "Bearer xoxp-")):
            self.rejected.append((200, "apps.connections.open"))
            return {"ok": False, "error": "not_allowed_token_type"}
        if given != f"Bearer {self.app_token}":
            self.rejected.append((200, "apps.connections.open"))
            return {"ok": False, "error": "invalid_auth"}
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        self.opened += 1
        return {
            "ok": True,
            "url": f"{self.origin.replace('http://', 'ws://')}/link/?ticket={ticket}",
        }

    async def _file(self, request: Request) -> Response:
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            # Slack answers an unauthenticated download with its sign-in page, not a 401.
            return Response("<html>sign in</html>", media_type="text/html")
        content = self.files.get(request.path_params["name"])
        if content is None:
            return Response(status_code=404)
        return Response(content, media_type="application/octet-stream")

    async def _link(self, websocket: WebSocket) -> None:
        ticket = websocket.query_params.get("ticket", "")
        if ticket not in self._tickets or self.refuse_sockets:
            self.refused += 1
            await websocket.close(code=1008)  # before accept: the handshake is refused
            return
        self._tickets.discard(ticket)  # a socket URL is good for one connection
        await websocket.accept()
        link = _Link()
        self._links.append(link)
        self.connected += 1
        hello: Json = {
            "type": "hello",
            "num_connections": len(self._links),
            "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A00FAKEAPP1"},
        }
        link.outbox.put_nowait(json.dumps(hello))
        for text in self._waiting:
            link.outbox.put_nowait(text)
        self._waiting.clear()
        writer = asyncio.create_task(self._write(websocket, link))
        try:
            async for text in websocket.iter_text():
                self._record(text)
        finally:
            self._links.remove(link)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _write(self, websocket: WebSocket, link: _Link) -> None:
        while (text := await link.outbox.get()) is not None:
            await websocket.send_text(text)
        await websocket.close()

    def _record(self, text: str) -> None:
        message = json.loads(text)
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            self.acks.append(Ack(time.monotonic(), message["envelope_id"], message.get("payload")))
