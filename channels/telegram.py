"""The Telegram channel: Bot API updates in, messages and approval buttons out.

Files people send are fetched on the gateway's request (``download``): ``getFile``, then
the file URL, which holds the bot token and so is never logged. A question whose button
the gateway accepted loses its keyboard and says who decided (``channels.answered``).
In webhook mode with a ``webhook_url``, ``run`` registers it (``setWebhook``) at start.
Beside it, ``telegram_text`` keeps texts within Telegram's limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import hmac
import json
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from channels.answered import Answered
from channels.attachments import fetch
from channels.telegram_text import MAX_TEXT, split, with_line
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

__all__ = [
    "ALLOWED_UPDATES",
    "MAX_BODY",
    "MAX_DOWNLOAD",
    "MAX_TEXT",
    "WEBHOOK_IS_SET",
    "TelegramChannel",
    "incoming",
    "split",
]

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # a webhook update larger than this is not Telegram's
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
_DOWNLOAD_RULE = "Telegram lets bots download files of at most {limit}."
_TRIES = 3
_MAX_WAIT = 30.0  # flood waits longer than this go back to the gateway's retry
_BUTTONS = {"budget": ("Resume", "Stop")}
#: The updates the channel reads; Telegram sends no other kind to the webhook.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
WEBHOOK_IS_SET = (
    "a webhook is set for this bot, and Telegram refuses long polling while it is: set "
    "channels.telegram.mode: webhook (with webhook_url) in company.yaml, or remove the "
    "webhook with: curl https://api.telegram.org/bot$TELEGRAM_BOT_TOKEN/deleteWebhook"
)


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


class _Redact(logging.Filter):
    """Hides the bot token, which the Bot API puts in every request URL, and other secrets."""

    def __init__(self, token: str, *others: str) -> None:
        super().__init__()
        # The part after the colon is the secret, and survives URL-quoting unchanged.
        # PTB logs every call's parameters at debug level: setWebhook's secret_token too.
        # A secret of a few characters would blank those characters everywhere in the logs,
        # and hides nothing worth hiding.
        self.secrets = [token.partition(":")[2] or token, *(o for o in others if len(o) >= 6)]

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatted now, once: PTB logs getFile's result dict and then writes the tokened
        # download URL into it, which a handler formatting later (pytest's) would show.
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "<secret>")
        record.msg, record.args = message, ()
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
        webhook_url: str | None = None,
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
        self.webhook_url = webhook_url if mode == "webhook" else None
        self.poll_timeout = poll_timeout
        self._redact = _Redact(token, self.webhook_secret)
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
        """Long-poll getUpdates until ``stop`` is set (webhook mode: register it, return)."""
        if self.mode == "webhook":
            if self.webhook_url:
                await self._register(self.webhook_url, stop)
            return
        from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

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
            except Conflict as err:
                if "webhook" in str(err).lower():
                    raise ConfigError(WEBHOOK_IS_SET) from err
                # Another poller of the same bot (a process still stopping): wait it out.
                log.warning("telegram getUpdates conflict (%s); retrying", err)
                await _pause(stop, 5.0)
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

    async def _register(self, url: str, stop: asyncio.Event) -> None:
        """setWebhook with the secret; the same call again on each start changes nothing."""
        from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError

        failures = 0
        while not stop.is_set():
            try:
                bot = await self._api()
                await bot.set_webhook(
                    url,
                    secret_token=self.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                    drop_pending_updates=False,  # what came while we were down is still wanted
                )
            except InvalidToken as err:
                raise ConfigError(
                    "Telegram refused the bot token: check it with @BotFather"
                ) from err
            except BadRequest as err:
                raise ConfigError(
                    f"Telegram refused the webhook URL {url} ({err}): set "
                    "channels.telegram.webhook_url to the public HTTPS address that reaches "
                    "/telegram/webhook on this server"
                ) from err
            except RetryAfter as err:
                await _pause(stop, _seconds(err))
            except TelegramError as err:
                failures += 1
                log.warning("telegram setWebhook failed (%s); retrying", err)
                await _pause(stop, min(2.0**failures, 60.0))
            else:
                log.info("telegram webhook set to %s", url)
                return

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
        pressed = _pressed(update)
        for answer in await receiver.receive(message):
            # Only an answer the gateway accepted marks the question: a stranger's press
            # of a forwarded button, or a second press, leaves the message as it is.
            if pressed and isinstance(answer, Answered) and answer.answers(pressed.question):
                await self._mark(pressed, answer)
            try:
                await self.send(answer)
            except Exception:
                log.exception("telegram answer to update %s not sent", update.get("update_id"))

    async def _mark(self, pressed: _Pressed, answer: Answered) -> None:
        """Take the buttons off the question's message and say there who decided."""
        from telegram.error import TelegramError

        try:
            bot = await self._api()
            # First, and alone if the text cannot be had: no second press is possible.
            await bot.edit_message_reply_markup(pressed.chat, pressed.message_id)
            if pressed.text:
                text = with_line(pressed.text, answer.line)
                await bot.edit_message_text(text, pressed.chat, pressed.message_id)
        except TelegramError as err:
            # The answer itself went through; only its mark on the question is missing.
            log.warning("telegram question %s not marked answered: %s", answer.question_id, err)

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


@dataclass(frozen=True)
class _Pressed:
    """The message whose approval button was pressed, as the callback query gives it."""

    chat: str
    message_id: int
    question: str
    text: str  # as sent (plain text); empty when Telegram no longer shows it to the bot


def _pressed(update: dict[str, Any]) -> _Pressed | None:
    callback = update.get("callback_query")
    if not isinstance(callback, dict):
        return None
    action, _, question = str(callback.get("data") or "").partition(":")
    message = callback.get("message")
    # An inline-mode button has no message; we never send those, so nothing to edit.
    if action not in ("approve", "reject") or not question or not isinstance(message, dict):
        return None
    try:
        chat, message_id = str(message["chat"]["id"]), int(message["message_id"])
    except (KeyError, TypeError, ValueError):
        return None
    return _Pressed(chat, message_id, question, str(message.get("text") or ""))


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
