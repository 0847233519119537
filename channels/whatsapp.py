"""The WhatsApp channel: Cloud API webhooks in, Graph API messages out.

WhatsApp lets a business send free-form messages only within 24 hours of the person's
last message (the customer-service window); outside it, ``send`` refuses with
:class:`WindowClosed` rather than have Graph reject the message. Media people send are
fetched on the gateway's request (``download``): Graph gives a short-lived signed URL for
the media id, fetched with the same bearer token and never logged. Webhook messages (edits
and forwards included) are read by ``channels.whatsapp_inbound``.
A signed body of the wrong shape is a 400; a message dated older than duplicates are
remembered is dropped as a replay (``channels.whatsapp_shape``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Protocol

from channels import whatsapp_inbound, whatsapp_shape
from channels.attachments import fetch
from channels.delivery import Break, Later, retried, split
from channels.wording import words_for
from equipage.chat import Attachment, Incoming, Outgoing, Receiver
from equipage.documents import size_refusal
from equipage.errors import MalformedWebhook, MissingExtraError, RuntimeFailure, WindowClosed
from equipage.httpserver import read_body, read_json, refusing_malformed

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["MemoryWindowStore", "WhatsAppChannel", "WindowClosed", "WindowStore"]

log = logging.getLogger(__name__)

WINDOW = 24 * 3600.0  # seconds after a person's last message when free-form sends are allowed
MAX_BODY = 1024 * 1024  # webhook bodies over this are refused
TEXT_LIMIT = 4096  # characters in one text message
BUTTON_BODY_LIMIT = 1024  # characters in an interactive message's body
# A text cut short of the limit at a line break in its second half; else at the limit.
_BREAKS = (Break(("\n",), TEXT_LIMIT // 2),)
_WINDOW_CODE = 131047  # Graph's "re-engagement message": sent outside the window


class WindowStore(Protocol):
    """When each person last wrote (Unix time), so ``send`` knows if the window is open."""

    async def get(self, user: str) -> float | None: ...

    async def set(self, user: str, ts: float) -> None: ...


class MemoryWindowStore:
    """The window store of one process; lost on restart (the window then reads as closed)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    async def get(self, user: str) -> float | None:
        return self._last.get(user)

    async def set(self, user: str, ts: float) -> None:
        self._last[user] = ts


class WhatsAppChannel:
    """Translates WhatsApp Cloud API webhooks into Incoming, and Outgoing into Graph calls."""

    name = "whatsapp"

    def __init__(
        self,
        token: str,
        *,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        base_url: str = "https://graph.facebook.com/v21.0",
        window_store: WindowStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            import httpx
        except ImportError as err:
            raise MissingExtraError("the WhatsApp channel", "whatsapp") from err
        self.phone_number_id = phone_number_id
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        self.windows: WindowStore = window_store or MemoryWindowStore()
        self._clock = clock  # Unix time; tests move it instead of waiting
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(15.0),
        )
        self._hide = _HideUrls()
        logging.getLogger("httpx").addFilter(self._hide)

    async def aclose(self) -> None:
        await self._http.aclose()
        logging.getLogger("httpx").removeFilter(self._hide)

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        """The bytes of a media a person sent: ``GET /{media-id}``, then its signed URL."""
        import httpx

        if not attachment.ref.isalnum():  # a media id: digits, never a path or a URL
            raise RuntimeFailure(f"{attachment.ref!r} is not a WhatsApp media id.")
        try:
            answer = await self._http.get(attachment.ref)
        except httpx.HTTPError as err:
            raise RuntimeFailure(
                f"asking Graph for {attachment.name} failed ({type(err).__name__}); "
                "ask the person to send it again."
            ) from None
        if not answer.is_success:
            error = _graph_error(answer)
            raise RuntimeFailure(
                f"the WhatsApp Graph API answered {answer.status_code} "
                f"({error.get('message', 'no message')}) for {attachment.name}; "
                "ask the person to send it again."
            )
        media = _dict(answer.json())
        url, size = str(media.get("url") or ""), int(media.get("file_size") or 0)
        if size > limit:
            raise size_refusal(attachment.name, size, limit)
        if not url:
            raise RuntimeFailure(f"Graph gave no URL for {attachment.name}; ask to send it again.")
        shown = {url, str(httpx.URL(url))}  # as given, and as httpx prints it
        self._hide.urls |= shown
        try:  # the client's bearer token goes along: Meta requires it on the media URL too
            return await fetch(self._http, url, name=attachment.name, limit=limit)
        finally:
            self._hide.urls -= shown

    # -- inbound ----------------------------------------------------------------------------
    def incoming(self, payload: dict[str, Any]) -> list[Incoming]:
        """The people's messages in one webhook body; statuses and unknown types dropped."""
        return whatsapp_inbound.incoming(payload, self.phone_number_id)

    def routes(self, receiver: Receiver) -> list[Any]:
        """``GET`` answers Meta's verification challenge; ``POST`` takes signed webhooks."""
        try:
            from starlette.background import BackgroundTask
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route
        except ImportError as err:
            raise MissingExtraError("the WhatsApp webhook", "web") from err

        async def verify(request: Request) -> Response:
            query = request.query_params
            token = query.get("hub.verify_token", "").encode()
            if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token, self._verify_token
            ):
                return PlainTextResponse(query.get("hub.challenge", ""))
            log.warning("whatsapp webhook verification with a wrong verify token refused")
            return PlainTextResponse("Forbidden", 403)

        async def webhook(request: Request) -> Response:
            body = await read_body(request, MAX_BODY)
            if body is None:
                raise MalformedWebhook(f"the body is over {MAX_BODY} bytes")
            given = request.headers.get("x-hub-signature-256", "").encode()
            expected = b"sha256=" + hmac.new(self._app_secret, body, sha256).hexdigest().encode()
            if not hmac.compare_digest(given, expected):
                log.warning("whatsapp webhook with a missing or wrong X-Hub-Signature-256 refused")
                return PlainTextResponse("Bad signature", 401)
            payload = read_json(body)
            now = self._clock()
            replayed: set[str] = set()
            for message in whatsapp_shape.read(payload).messages():
                why = whatsapp_shape.stale(message, now)
                if why is not None:
                    # Authentic but too old to tell from a replay: a 200, so Meta stops.
                    log.warning("whatsapp message %s dropped: %s", message.id, why)
                    replayed.add(message.id)
            answers: list[Outgoing] = []
            for incoming in self.incoming(payload):
                if incoming.message_id in replayed:
                    continue
                await self.windows.set(incoming.user, now)
                # Raised from here is ours (Redis down...): a 500, and Meta delivers again.
                answers += await receiver.receive(incoming)
            # Meta wants the 200 fast and redelivers otherwise: answer after responding.
            return PlainTextResponse("OK", background=BackgroundTask(self._answer, answers))

        return [
            Route("/whatsapp/webhook", verify, methods=["GET"]),
            Route(
                "/whatsapp/webhook", refusing_malformed("whatsapp", log, webhook), methods=["POST"]
            ),
        ]

    async def _answer(self, answers: list[Outgoing]) -> None:
        for answer in answers:
            try:
                await self.send(answer)
            except Exception:
                log.exception("answering on whatsapp %s failed", answer.chat)

    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None:
        """Nothing to poll: WhatsApp comes in through ``routes``."""

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, message: Outgoing) -> None:
        """Text in chunks of 4096, a question as Approve/Reject reply buttons."""
        last = await self.windows.get(message.chat)
        if last is None or self._clock() - last > WINDOW:
            raise WindowClosed(message.chat, platform="WhatsApp")
        text, question = message.text, message.question
        if question is None:
            for chunk in split(text, TEXT_LIMIT, _BREAKS):
                await self._post(message.chat, "text", {"body": chunk, "preview_url": False})
            return
        say = words_for(message)
        text = text or question.text
        if not text.strip() or len(text) > BUTTON_BODY_LIMIT:
            for chunk in split(text, TEXT_LIMIT, _BREAKS):
                await self._post(message.chat, "text", {"body": chunk, "preview_url": False})
            text = say.choose.format(id=question.id)
        # The Cloud API cannot edit a sent message, so these buttons stay pressable once the
        # question is answered (Telegram and Slack take theirs away): the gateway's answer
        # (``channels.answered.Answered``) goes out as the plain text it also is, and a
        # later press is told the question is no longer open.
        buttons = [
            {"type": "reply", "reply": {"id": f"{verb}:{question.id}", "title": title}}
            for verb, title in zip(("approve", "reject"), say.labels(question.topic), strict=True)
        ]
        interactive = {"type": "button", "body": {"text": text}, "action": {"buttons": buttons}}
        await self._post(message.chat, "interactive", interactive)

    async def _post(self, to: str, kind: str, content: dict[str, Any]) -> None:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        body |= {"to": to, "type": kind, kind: content}

        async def once(attempt: int) -> None:
            response = await self._http.post(f"{self.phone_number_id}/messages", json=body)
            if response.is_success:
                return
            error = _graph_error(response)
            if error.get("code") == _WINDOW_CODE:
                raise WindowClosed(to, platform="WhatsApp")
            raise _Refused(response, error, attempt)

        try:
            await retried(once, _later)
        except _Refused as refused:
            raise RuntimeFailure(
                f"the WhatsApp Graph API answered {refused.response.status_code} "
                f"({refused.error.get('message', 'no message')}) after {refused.attempt} "
                "attempt(s); check the access token and phone number id, or try again later."
            ) from None


class _Refused(Exception):
    """Graph's answer to a message it did not take, on the ``attempt``-th try."""

    def __init__(self, response: httpx.Response, error: dict[str, Any], attempt: int) -> None:
        super().__init__(response.status_code)
        self.response, self.error, self.attempt = response, error, attempt


def _later(err: Exception) -> Later | None:
    """Graph's rate limit (429) or a server error, with the wait it asks for, if any."""
    if not isinstance(err, _Refused):
        return None
    status = err.response.status_code
    return Later(_retry_after(err.response)) if status == 429 or status >= 500 else None


class _HideUrls(logging.Filter):
    """Keeps the signed media URLs being fetched out of httpx's request log."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls:
            message = record.getMessage()
            hidden = message
            for url in self.urls:
                hidden = hidden.replace(url, url.partition("?")[0] + "?<signed>")
            if hidden != message:
                record.msg, record.args = hidden, ()
        return True


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers["retry-after"]), 0.0)
    except (KeyError, ValueError):
        return None


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        return _dict(response.json().get("error"))
    except (ValueError, AttributeError):
        return {}


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
