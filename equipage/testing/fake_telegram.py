"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot.

Tests queue updates and scripted failures; the server answers over real HTTP in the Bot
API's shape (``POST /bot<token>/<method>``, ``{"ok": ..., "result": ...}``) and records
what the bot sent::

    async with FakeTelegram("123:abc") as fake:
        fake.push_update({"update_id": 1, "message": {...}})
        fake.add_file("file-id", b"%PDF-...")  # getFile, then GET /file/bot<token>/<path>
        bot = telegram.Bot("123:abc", base_url=fake.base_url, base_file_url=fake.base_file_url)

``hold(method)`` makes calls of a method wait until the returned event is set, to show
what does not wait on them. Simplifications: one bot, no webhooks delivered (setWebhook
only answers); ``getUpdates`` forgets updates below ``offset`` like the real server, and
returns at most ``limit`` of the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from equipage.httpserver import LocalServer

__all__ = ["FakeTelegram"]

Json = dict[str, Any]
BOT = {"id": 8765336106, "is_bot": True, "first_name": "Equipage", "username": "equipage_bot"}
# Bot API parameters that python-telegram-bot sends JSON-encoded inside a form field.
_OBJECT_PARAMS = frozenset({"reply_markup", "entities", "reply_parameters", "link_preview_options"})
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves bots files up to 20 MB


class FakeTelegram:
    """Serves queued updates and records sent messages, for one bot token."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.updates: list[Json] = []
        self.sent: list[Json] = []  # sendMessage parameters, decoded
        self.calls: list[tuple[str, Json]] = []  # every method call, in order
        self.answered: list[str] = []  # methods whose answer went out, in order
        self.downloads: list[str] = []  # file paths fetched from /file/bot<token>/
        self._files: dict[str, tuple[str, bytes, int]] = {}  # file_id -> path, bytes, size
        self._holds: dict[str, asyncio.Event] = {}
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._arrived = asyncio.Event()
        self._closing = asyncio.Event()
        self._next_message_id = 1
        self._http: LocalServer | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        """What to pass as ``telegram.Bot(base_url=...)``: the token is appended to it."""
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as ``telegram.Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self._port}/file/bot"

    def add_file(self, file_id: str, data: bytes, *, size: int | None = None) -> str:
        """Serve ``data`` for ``file_id``; ``size`` overrides the size getFile reports."""
        path = f"documents/file_{len(self._files)}"
        self._files[file_id] = (path, data, len(data) if size is None else size)
        return path

    def hold(self, method: str) -> asyncio.Event:
        """Make calls of ``method`` wait, recorded but unanswered, until the event is set."""
        return self._holds.setdefault(method, asyncio.Event())

    def push_update(self, update: Json) -> None:
        """Queue an update for the next getUpdates."""
        self.updates.append(update)
        self._arrived.set()

    def fail_next(self, method: str, status: int, *, retry_after: int | None = None) -> None:
        """Answer the next call of ``method`` with an error (429 takes ``retry_after``)."""
        self._failures.setdefault(method, []).append((status, retry_after))

    def called(self, method: str) -> list[Json]:
        """The parameters of every call of ``method``, in order."""
        return [params for name, params in self.calls if name == method]

    async def __aenter__(self) -> Self:
        routes = [
            Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ]
        self._http = LocalServer(Starlette(routes=routes))
        await self._http.start()
        self._port = self._http.port
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # ends pending long polls, so shutdown is not held up
        for held in self._holds.values():
            held.set()
        if self._http is not None:
            await self._http.stop()

    async def _method(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        self.calls.append((method, params))
        failures = self._failures.get(method)
        if failures:
            status, retry_after = failures.pop(0)
            return _error(status, _DESCRIPTIONS.get(status, "Bad Request"), retry_after)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        if method in self._holds:
            await self._holds[method].wait()
        try:
            result = await handler(params)
        except _BadRequest as err:
            return _error(400, f"Bad Request: {err}")
        self.answered.append(method)
        return JSONResponse({"ok": True, "result": result})

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        self.downloads.append(path)
        body = next((data for p, data, _ in self._files.values() if p == path), None)
        if body is None:
            return _error(404, "Not Found")
        return Response(body, media_type="application/octet-stream")

    async def _getFile(self, params: Json) -> Json:
        known = self._files.get(str(params.get("file_id")))
        if known is None:
            raise _BadRequest("invalid file_id")
        path, _, size = known
        if size > MAX_DOWNLOAD:
            raise _BadRequest("file is too big")
        file_id = str(params["file_id"])
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size,
                "file_path": path}  # fmt: skip

    async def _getMe(self, params: Json) -> Json:
        return BOT

    async def _getUpdates(self, params: Json) -> list[Json]:
        offset = int(params.get("offset") or 0)
        if offset:  # the real server forgets what an offset confirmed
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self.updates and not self._closing.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)
        return self.updates[: int(params.get("limit") or 100)]

    async def _sendMessage(self, params: Json) -> Json:
        self.sent.append(params)
        message_id, self._next_message_id = self._next_message_id, self._next_message_id + 1
        message: Json = {
            "message_id": message_id,
            "from": BOT,
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "date": int(time.time()),
            "text": params["text"],
        }
        if "message_thread_id" in params:
            message["message_thread_id"] = int(params["message_thread_id"])
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _sendChatAction(self, params: Json) -> bool:
        return True

    async def _answerCallbackQuery(self, params: Json) -> bool:
        return True

    async def _setWebhook(self, params: Json) -> bool:
        return True

    async def _deleteWebhook(self, params: Json) -> bool:
        return True


class _BadRequest(Exception):
    """A 400 answer, with the Bot API's description after "Bad Request: "."""


_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests",
}


async def _params(request: Request) -> Json:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.form()
    params: Json = {}
    for key, value in form.multi_items():
        text = value if isinstance(value, str) else ""
        params[key] = json.loads(text) if key in _OBJECT_PARAMS else text
    return params


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: Json = {"ok": False, "error_code": status, "description": description}
    if status == 429 and retry_after is not None:
        body["description"] = f"Too Many Requests: retry after {retry_after}"
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)
