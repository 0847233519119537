"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot.

Tests queue updates and scripted failures; the server answers over real HTTP in the Bot
API's shape (``POST /bot<token>/<method>``, ``{"ok": ..., "result": ...}``) and records
what the bot sent::

    async with FakeTelegram("123:abc") as fake:
        fake.push_update({"update_id": 1, "message": {...}})
        fake.add_file("file-id", b"%PDF-...")  # getFile, then GET /file/bot<token>/<path>
        fake.push_voice(2, 4242, ogg_bytes)  # a voice note, its file served the same way
        bot = telegram.Bot("123:abc", base_url=fake.base_url, base_file_url=fake.base_file_url)

``hold(method)`` makes calls of a method wait until the returned event is set, to show
what does not wait on them. Sent messages are kept (``message``), so ``editMessageText``
and ``editMessageReplyMarkup`` change them as Telegram does: an edit without
``reply_markup`` takes the inline keyboard away, and one that changes nothing, finds no
message or passes 4096 characters is refused with the Bot API's 400. ``setWebhook``
(HTTPS URLs only) is remembered in ``webhook``, and while one is set ``getUpdates``
answers 409 Conflict, like the real server; ``deleteWebhook`` removes it.
Simplifications: one bot, no webhooks delivered; ``getUpdates`` forgets updates below
``offset`` like the real server, and returns at most ``limit`` of the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer

__all__ = ["FakeTelegram"]

Json = dict[str, Any]
BOT = {"id": 8765336106, "is_bot": True, "first_name": "Equipage", "username": "equipage_bot"}
# Bot API parameters that python-telegram-bot sends JSON-encoded inside a form field.
_OBJECT_PARAMS = frozenset(
    {"reply_markup", "entities", "reply_parameters", "link_preview_options", "allowed_updates"}
)
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves bots files up to 20 MB
MAX_TEXT = 4096  # characters (UTF-16 code units) in a message's text
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class FakeTelegram(FakeServer):
    """Serves queued updates and records sent messages, for one bot token."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self.updates: list[Json] = []
        self.sent: list[Json] = []  # sendMessage parameters, decoded
        self.calls: list[tuple[str, Json]] = []  # every method call, in order
        self.times: list[float] = []  # when each of ``calls`` arrived (time.monotonic)
        self.answered: list[str] = []  # methods whose answer went out, in order
        self.downloads: list[str] = []  # file paths fetched from /file/bot<token>/
        self.webhook: Json | None = None  # the setWebhook parameters in force
        self._messages: dict[tuple[str, int], Json] = {}  # (chat id, message id) -> message
        self._files: dict[str, tuple[str, bytes, int]] = {}  # file_id -> path, bytes, size
        self._holds: dict[str, asyncio.Event] = {}
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._arrived = asyncio.Event()
        self._next_message_id = 1

    @property
    def base_url(self) -> str:
        """What to pass as ``telegram.Bot(base_url=...)``: the token is appended to it."""
        return f"{self.origin}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as ``telegram.Bot(base_file_url=...)``."""
        return f"{self.origin}/file/bot"

    def add_file(
        self, file_id: str, data: bytes, *, size: int | None = None, folder: str = "documents"
    ) -> str:
        """Serve ``data`` for ``file_id``; ``size`` overrides the size getFile reports."""
        suffix = ".oga" if folder == "voice" else ""  # where the Bot API keeps voice notes
        path = f"{folder}/file_{len(self._files)}{suffix}"
        self._files[file_id] = (path, data, len(data) if size is None else size)
        return path

    def push_voice(
        self,
        update_id: int,
        user: int,
        data: bytes,
        *,
        duration: int = 1,
        forward_from: Json | None = None,
    ) -> str:
        """Queue a voice note ``user`` recorded (or forwarded, from ``forward_from``), in the
        Bot API's shape, its Ogg/Opus bytes served by getFile; returns its file_id."""
        file_id = f"voice-{update_id}"
        self.add_file(file_id, data, folder="voice")
        voice = {"duration": duration, "mime_type": "audio/ogg", "file_id": file_id,
                 "file_unique_id": f"u{file_id}", "file_size": len(data)}  # fmt: skip
        person = {"id": user, "is_bot": False, "first_name": "Camille"}
        message: Json = {"message_id": update_id, "from": person, "date": int(time.time()),
                         "chat": {"id": user, "type": "private"}, "voice": voice}  # fmt: skip
        if forward_from is not None:
            message["forward_origin"] = {"type": "user", "sender_user": forward_from,
                                         "date": int(time.time()) - 60}  # fmt: skip
        self.push_update({"update_id": update_id, "message": message})
        return file_id

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

    def messages(self, chat_id: str | int) -> list[Json]:
        """The messages the bot sent to a chat, in order, as they stand now (copies)."""
        return [
            self.message(chat, number) for chat, number in self._messages if chat == str(chat_id)
        ]

    def message(self, chat_id: str | int, message_id: int) -> Json:
        """A message the bot sent, as it stands after any edits (a copy)."""
        found: Json = json.loads(json.dumps(self._messages[(str(chat_id), message_id)]))
        return found

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ]

    def _release(self) -> None:
        for held in self._holds.values():
            held.set()

    async def _method(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        self.calls.append((method, params))
        self.times.append(time.monotonic())
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
        except _Refused as err:
            return _error(err.status, err.description)
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
        if self.webhook is not None:
            raise _Refused(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
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
        self._messages[(str(params["chat_id"]), message_id)] = message
        return message

    async def _editMessageText(self, params: Json) -> Json:
        message = self._editable(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _BadRequest("message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise _BadRequest("message is too long")
        markup = params.get("reply_markup")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise _BadRequest(_NOT_MODIFIED)
        message["text"] = text
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    async def _editMessageReplyMarkup(self, params: Json) -> Json:
        message = self._editable(params)
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup"):
            raise _BadRequest(_NOT_MODIFIED)
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _editable(self, params: Json) -> Json:
        try:
            key = (str(params["chat_id"]), int(params["message_id"]))
        except (KeyError, ValueError):
            raise _BadRequest("message identifier is not specified") from None
        if key not in self._messages:
            raise _BadRequest("message to edit not found")
        return self._messages[key]

    @staticmethod
    def _set_markup(message: Json, markup: Json | None) -> None:
        # An edit without reply_markup leaves the message without an inline keyboard.
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    async def _sendChatAction(self, params: Json) -> bool:
        return True

    async def _answerCallbackQuery(self, params: Json) -> bool:
        return True

    async def _setWebhook(self, params: Json) -> bool:
        url = str(params.get("url") or "")
        if not url:
            self.webhook = None  # an empty URL removes the webhook
            return True
        if not url.startswith("https://"):
            raise _BadRequest("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return True

    async def _deleteWebhook(self, params: Json) -> bool:
        self.webhook = None
        return True

    async def _getWebhookInfo(self, params: Json) -> Json:
        hook = self.webhook or {}
        info: Json = {"url": hook.get("url", ""), "has_custom_certificate": False}
        info["pending_update_count"] = len(self.updates)
        if "allowed_updates" in hook:
            info["allowed_updates"] = hook["allowed_updates"]
        return info


class _BadRequest(Exception):
    """A 400 answer, with the Bot API's description after "Bad Request: "."""


class _Refused(Exception):
    """An error answer other than 400, with the Bot API's whole description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


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
