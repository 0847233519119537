"""The Telegram channel: Bot API updates in, messages and approval buttons out.

Files people send are fetched on the gateway's request (``download``): ``getFile``, then
the file URL, which holds the bot token and so is never logged. A question whose button
the gateway accepted loses its keyboard and says who decided (``channels.answered``);
so does one answered elsewhere, from the message ``ask`` sent (``channels.asked``).
In webhook mode with a ``webhook_url``, ``run`` registers it (``setWebhook``) at start.

The adapter wires its parts together: ``telegram_inbound`` (long polling, the webhook),
``telegram_updates`` (Update to Incoming), ``telegram_send`` (Outgoing to Bot API calls),
``telegram_text`` (Telegram's text limit) and ``telegram_logs`` (secrets kept out of logs).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from channels import telegram_inbound, telegram_send
from channels.answered import Answered
from channels.asked import Sent
from channels.attachments import fetch
from channels.telegram_inbound import MAX_BODY, WEBHOOK_IS_SET
from channels.telegram_logs import Redact
from channels.telegram_text import MAX_TEXT, split
from channels.telegram_updates import ALLOWED_UPDATES, incoming, pressed
from equipage.chat import Attachment, Outgoing, Receiver
from equipage.documents import size_refusal
from equipage.errors import ConfigError, MissingExtraError, RuntimeFailure

if TYPE_CHECKING:
    import httpx
    from telegram import Bot

# The names callers have always imported from here, wherever they now live.
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

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
_DOWNLOAD_RULE = "Telegram lets bots download files of at most {limit}."


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
        self._redact = Redact(token, self.webhook_secret)
        self._redact.install()
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
        self._redact.remove()

    # -- inbound ----------------------------------------------------------------------------
    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set (webhook mode: register it, return)."""
        if self.mode != "webhook":
            handle = partial(self._handle, receiver)
            await telegram_inbound.poll(self._api, handle, stop, self.poll_timeout)
        elif self.webhook_url:
            await telegram_inbound.register(self._api, self.webhook_url, self.webhook_secret, stop)

    def routes(self, receiver: Receiver) -> list[Any]:
        """``POST /telegram/webhook`` in webhook mode; nothing when polling."""
        if self.mode != "webhook":
            return []
        handle = partial(self._handle, receiver)
        return [telegram_inbound.webhook_route(self.webhook_secret, handle)]

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
        press = pressed(update)
        for answer in await receiver.receive(message):
            await telegram_send.mark(self._api, press, answer)
            try:
                await self.send(answer)
            except Exception:
                log.exception("telegram answer to update %s not sent", update.get("update_id"))

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, message: Outgoing) -> None:
        """Send as plain text in pieces of at most 4096; a question gets its buttons."""
        await telegram_send.send(self._api, message)

    async def ask(self, message: Outgoing) -> Sent | None:
        """Send a question as ``send`` does; the message that holds its buttons."""
        last = await telegram_send.send(self._api, message)
        if last is None or message.question is None:
            return None
        ref, text = last
        question = message.question.id
        return Sent(
            channel=message.channel, chat=message.chat, ref=ref, question=question, text=text
        )

    async def mark(self, sent: Sent, answer: Answered) -> None:
        """Take the keyboard off a question answered elsewhere and say who decided."""
        await telegram_send.unbutton(self._api, sent.chat, int(sent.ref), sent.text, answer.line)

    async def draft(self, message: Outgoing, ref: str | None) -> str:
        """Show a reply while it is written: one message, edited as it grows."""
        return await telegram_send.draft(self._api, message, ref)

    async def settle(self, message: Outgoing, ref: str) -> None:
        """Turn the draft ``ref`` into the whole reply."""
        await telegram_send.settle(self._api, message, ref)

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
