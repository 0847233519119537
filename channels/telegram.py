"""The Telegram channel: Bot API updates in, messages and approval buttons out.

Files people send are fetched on the gateway's request (``download``): ``getFile``, then
the file URL, which holds the bot token and so is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import hmac
import json
import logging
import warnings
from typing import TYPE_CHECKING, Any, Literal

from channels.attachments import fetch
from equipage.chat import Attachment, Incoming, Outgoing, Receiver
from equipage.documents import size_refusal
from equipage.errors import ConfigError, MissingExtraError, RuntimeFailure
from equipage.httpserver import read_body

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request
    from starlette.responses import Response
    from telegram import Bot, InlineKeyboardMarkup
    from telegram.error import RetryAfter

__all__ = ["MAX_BODY", "MAX_DOWNLOAD", "MAX_TEXT", "TelegramChannel", "incoming", "split"]

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Bot API limit per message, in UTF-16 code units
MAX_BODY = 1 << 20  # a webhook update larger than this is not Telegram's
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
_DOWNLOAD_RULE = "Telegram lets bots download files of at most {limit}."
_TRIES = 3
_MAX_WAIT = 30.0  # flood waits longer than this go back to the gateway's retry
_BUTTONS = {"budget": ("Resume", "Stop")}


def incoming(update: dict[str, Any]) -> Incoming | None:
    """The Incoming an Update stands for, or None for updates people did not write."""
    try:
        return _translate(update)
    except (KeyError, TypeError, ValueError):
        return None  # malformed: retrying would not make it readable


def _translate(update: dict[str, Any]) -> Incoming | None:
    update_id = str(update.get("update_id", ""))
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        action, _, question = str(callback.get("data") or "").partition(":")
        sender = callback.get("from") or {}
        if action not in ("approve", "reject") or not question or "id" not in sender:
            return None
        message = callback.get("message") or {}
        user = str(sender["id"])
        # An inline-mode button has no message: the presser's private chat answers.
        chat = str(message["chat"]["id"]) if "chat" in message else user
        return Incoming(
            channel="telegram",
            chat=chat,
            user=user,
            text=f"/{action} {question}",
            message_id=update_id,
            thread=_topic(message),
        )
    edited = "edited_message" in update
    message = update.get("edited_message") or update.get("message")
    if not isinstance(message, dict) or "id" not in (message.get("from") or {}):
        return None
    document = message.get("document")
    attachments: tuple[Attachment, ...] = ()
    if isinstance(document, dict):
        attachments = (
            Attachment(
                name=document.get("file_name") or "document",
                mime=document.get("mime_type") or "application/octet-stream",
                size=document.get("file_size") or 0,
                ref=document["file_id"],
            ),
        )
    text = message.get("text") or message.get("caption") or ""
    if not text and not attachments:
        return None
    return Incoming(
        channel="telegram",
        chat=str(message["chat"]["id"]),
        user=str(message["from"]["id"]),
        text=text,
        message_id=update_id,
        thread=_topic(message),
        edited=edited,
        attachments=attachments,
    )


def _topic(message: dict[str, Any]) -> str | None:
    # Replies in plain supergroups carry a thread id too; only forum topics are threads.
    return str(message["message_thread_id"]) if message.get("is_topic_message") else None


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into non-blank pieces that fit a message, at paragraphs, lines or spaces."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut, units = 0, 0
        for char in rest:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            cut += 1
        if cut < len(rest):
            head = rest[:cut]
            for sep, floor in (("\n\n", limit // 4), ("\n", limit // 4), (" ", 1)):
                at = head.rfind(sep)
                if at >= floor:
                    cut = at + len(sep)
                    break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in pieces if piece.strip()]


class _Redact(logging.Filter):
    """Hides the bot token, which the Bot API puts in every request URL."""

    def __init__(self, token: str) -> None:
        super().__init__()
        # The part after the colon is the secret, and survives URL-quoting unchanged.
        self.secret = token.partition(":")[2] or token

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatted now, once: PTB logs getFile's result dict and then writes the tokened
        # download URL into it, which a handler formatting later (pytest's) would show.
        message = record.getMessage()
        record.msg, record.args = message.replace(self.secret, "<token>"), ()
        return True


# Logger filters do not apply to records propagated from children: name each logger.
_TOKEN_LOGGERS = (
    "httpx",
    *(f"httpcore.{name}" for name in ("connection", "http11", "http2", "proxy", "socks")),
    *(f"telegram.{name}" for name in ("Bot", "BaseRequest", "HTTPXRequest")),
)


class TelegramChannel:
    """Long polling or webhooks in; sendMessage with inline approval buttons out."""

    name = "telegram"

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        base_file_url: str | None = None,
        mode: Literal["polling", "webhook"] = "polling",
        webhook_secret: str | None = None,
        poll_timeout: int = 30,
    ) -> None:
        try:
            from telegram import Bot
        except ImportError as err:
            raise MissingExtraError("the Telegram channel", "telegram") from err
        if mode == "webhook" and not webhook_secret:
            raise ConfigError(
                "the Telegram webhook needs a secret, or anyone could post updates: "
                "set webhook_secret and pass it to setWebhook as secret_token"
            )
        self.mode = mode
        self.webhook_secret = webhook_secret or ""
        self.poll_timeout = poll_timeout
        self._redact = _Redact(token)
        for name in _TOKEN_LOGGERS:
            logging.getLogger(name).addFilter(self._redact)
        if base_file_url is None and base_url and base_url.endswith("/bot"):
            # A local or fake Bot API server serves files beside its methods.
            base_file_url = base_url.removesuffix("/bot") + "/file/bot"
        self._bot = Bot(
            token,
            base_url=base_url or "https://api.telegram.org/bot",
            base_file_url=base_file_url or "https://api.telegram.org/file/bot",
        )
        self._ready = asyncio.Lock()
        self._files: httpx.AsyncClient | None = None

    async def _api(self) -> Bot:
        async with self._ready:  # initialize() is idempotent; the lock makes it run once
            await self._bot.initialize()
        return self._bot

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._bot.shutdown()
        if self._files is not None:
            await self._files.aclose()
        for name in _TOKEN_LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)

    # -- inbound ----------------------------------------------------------------------------
    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set (webhook mode: return at once)."""
        if self.mode == "webhook":
            return
        from telegram.error import InvalidToken, RetryAfter, TelegramError

        offset: int | None = None
        while not stop.is_set():
            try:
                bot = await self._api()
                updates = await bot.get_updates(offset=offset, timeout=self.poll_timeout)
            except InvalidToken as err:
                raise ConfigError(
                    "Telegram refused the bot token: check it with @BotFather"
                ) from err
            except RetryAfter as err:
                await _pause(stop, _seconds(err))
                continue
            except TelegramError as err:
                log.warning("telegram getUpdates failed (%s); retrying", err)
                await _pause(stop, 1.0)
                continue
            for update in updates:
                try:
                    await self._handle(receiver, update.to_dict())
                except Exception:
                    # Not confirmed: the next getUpdates hands the update over again.
                    log.exception("telegram update %s not handled; retrying", update.update_id)
                    await _pause(stop, 1.0)
                    break
                offset = update.update_id + 1

    def routes(self, receiver: Receiver) -> list[Any]:
        """``POST /telegram/webhook`` in webhook mode; nothing when polling."""
        if self.mode != "webhook":
            return []
        from starlette.responses import Response
        from starlette.routing import Route

        async def webhook(request: Request) -> Response:
            given = request.headers.get("x-telegram-bot-api-secret-token", "")
            if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
                log.warning("telegram webhook refused: wrong or missing secret token")
                return Response(status_code=401)
            body = await read_body(request, MAX_BODY)
            if body is None:
                log.warning("telegram webhook refused: body over %d bytes", MAX_BODY)
                return Response(status_code=400)
            try:
                update = json.loads(body)
            except ValueError:
                update = None
            if not isinstance(update, dict):
                log.warning("telegram webhook refused: body is not a JSON object")
                return Response(status_code=400)
            await self._handle(receiver, update)
            return Response(status_code=200)

        return [Route("/telegram/webhook", webhook, methods=["POST"])]

    async def _handle(self, receiver: Receiver, update: dict[str, Any]) -> None:
        callback = update.get("callback_query")
        if isinstance(callback, dict) and callback.get("id"):
            try:  # so the button stops spinning, whatever the press means
                await (await self._api()).answer_callback_query(str(callback["id"]))
            except Exception as err:
                log.warning("telegram answerCallbackQuery failed: %s", err)
        message = incoming(update)
        if message is None:
            log.debug("telegram update %s ignored", update.get("update_id"))
            return
        for answer in await receiver.receive(message):
            try:
                await self.send(answer)
            except Exception:
                log.exception("telegram answer to update %s not sent", update.get("update_id"))

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, message: Outgoing) -> None:
        """Send as plain text in pieces of at most 4096; a question gets its buttons."""
        pieces = split(message.text) or ([message.question.text or "?"] if message.question else [])
        for number, piece in enumerate(pieces, start=1):
            last = number == len(pieces)
            markup = _keyboard(message) if last and message.question else None
            await self._send_piece(message, piece, markup)

    async def _send_piece(
        self, message: Outgoing, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        from telegram.error import RetryAfter

        bot = await self._api()
        thread = int(message.thread) if message.thread else None
        for attempt in range(1, _TRIES + 1):
            try:
                await bot.send_message(
                    message.chat, text, reply_markup=markup, message_thread_id=thread
                )
                return
            except RetryAfter as err:
                wait = _seconds(err)
                if attempt == _TRIES or wait > _MAX_WAIT:
                    raise
                log.info("telegram flood control: waiting %.0fs", wait)
                await asyncio.sleep(wait)

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        """The bytes of a file a person sent (``ref`` is its file_id), at most 20 MB."""
        from telegram.error import BadRequest

        rule = _DOWNLOAD_RULE if limit >= MAX_DOWNLOAD else None
        limit = min(limit, MAX_DOWNLOAD)

        def too_big(size: int | None) -> Exception:
            return size_refusal(attachment.name, size, limit, rule)

        if attachment.size > limit:  # known from the update: no need to ask
            raise too_big(attachment.size)
        try:
            file = await (await self._api()).get_file(attachment.ref)
        except BadRequest as err:
            if "too big" in str(err).lower():
                raise too_big(None) from err
            raise
        if file.file_size and file.file_size > limit:
            raise too_big(file.file_size)
        if not file.file_path:
            raise RuntimeFailure(
                f"Telegram gave no download path for {attachment.name}; ask to send it again."
            )
        url, name = file.file_path, attachment.name
        return await fetch(self._downloads(), url, name=name, limit=limit, rule=rule)

    def _downloads(self) -> httpx.AsyncClient:
        # PTB's download_as_bytearray reads the whole body at once; this one streams, capped.
        import httpx

        if self._files is None:
            self._files = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        return self._files

    async def typing(self, chat: str) -> None:
        """Show "typing…" in ``chat`` while the crew works."""
        await (await self._api()).send_chat_action(chat, "typing")


def _keyboard(message: Outgoing) -> InlineKeyboardMarkup:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    assert message.question is not None
    yes, no = _BUTTONS.get(message.question.topic, ("Approve", "Reject"))
    qid = message.question.id
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=f"approve:{qid}"),
                InlineKeyboardButton(no, callback_data=f"reject:{qid}"),
            ]
        ]
    )


def _seconds(err: RetryAfter) -> float:
    # PTB 22 warns on reading retry_after as an int; the value is the same either way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    # Waits on ``stop`` so a shutdown is not held up by a back-off.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
