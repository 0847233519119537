"""The Slack channel: Events API requests (signed HTTP or Socket Mode) in, Block Kit out.

Both modes read payloads with ``incoming`` and hand them to the gateway after Slack has
had its answer. A question whose button the gateway accepted gets its buttons replaced
by who decided (``chat.update``, see ``channels.answered``). Beside it: ``slack_socket``
(the Socket Mode connection), ``slack_blocks`` (what a message looks like on Slack),
``slack_files`` (files people share) and ``slack_shares`` (messages they share).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from channels.answered import Answered
from channels.slack_blocks import MAX_SECTION, MAX_TEXT, Pressed, posts, pressed, split, update
from channels.slack_files import attachments, fetch
from channels.slack_logs import SDK_LOG
from channels.slack_shares import shared
from equipage.chat import Attachment, Incoming, Outgoing, Receiver
from equipage.errors import ConfigError, MissingExtraError
from equipage.httpserver import read_body

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = [
    "MAX_BODY",
    "MAX_SECTION",
    "MAX_TEXT",
    "WORKING",
    "SlackChannel",
    "incoming",
    "split",
    "verify",
]

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # a request larger than this is not Slack's
MAX_AGE = 5 * 60  # Slack's replay window for signed requests, in seconds
_PACE = 1.0  # chat.postMessage allows about one message per second per channel
_TRIES = 3
_MAX_WAIT = 30.0  # rate-limit waits longer than this go back to the gateway's retry
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")
#: What a slash command is answered at once, seen only by the person who typed it.
WORKING = {"response_type": "ephemeral", "text": "Working on it…"}


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now: float) -> bool:
    """True when ``body`` carries Slack's v0 signature made with ``secret`` less than 5 min ago."""
    stamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not (stamp.isascii() and stamp.isdigit()) or abs(now - int(stamp)) > MAX_AGE:
        return False
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


def incoming(payload: dict[str, Any]) -> Incoming | None:
    """The Incoming a request stands for (event, slash command, button), or None."""
    kind = payload.get("type")
    if kind == "event_callback":
        return _event(payload)
    if kind == "block_actions":
        return _action(payload)
    if "command" in payload and "user_id" in payload:
        text = str(payload.get("text") or "").strip() or "/help"
        return Incoming(
            channel="slack",
            chat=str(payload["channel_id"]),
            user=str(payload["user_id"]),
            text=text,
            message_id=payload.get("trigger_id"),
        )
    return None


def _event(payload: dict[str, Any]) -> Incoming | None:
    event = payload.get("event") or {}
    edited = event.get("subtype") == "message_changed"
    if event.get("type") == "app_mention" and not event.get("subtype"):
        message = event
    elif event.get("type") == "message" and event.get("channel_type") == "im":
        if edited:
            message = event.get("message") or {}
            if message.get("text") == (event.get("previous_message") or {}).get("text"):
                return None  # an unfurl or a reaction changed it, not its author
        elif event.get("subtype") not in (None, "file_share"):
            return None
        else:
            message = event
    else:
        return None
    if message.get("bot_id") or "user" not in message or "channel" not in event:
        return None  # our own posts and other bots' come back as events too
    return Incoming(
        channel="slack",
        chat=str(event["channel"]),
        user=str(message["user"]),
        text=_MENTION.sub("", str(message.get("text") or ""), count=1),
        message_id=payload.get("event_id"),
        thread=message.get("thread_ts") or message.get("ts"),
        edited=edited,
        attachments=attachments(message),
        forwarded=shared(message),  # messages shared with it: not the person's words
    )


def _action(payload: dict[str, Any]) -> Incoming | None:
    actions = payload.get("actions") or [{}]
    verb, _, question = str(actions[0].get("value") or "").partition(":")
    user = (payload.get("user") or {}).get("id")
    container = payload.get("container") or {}
    chat = (payload.get("channel") or {}).get("id") or container.get("channel_id")
    if verb not in ("approve", "reject") or not question or not user or not chat:
        return None
    return Incoming(
        channel="slack",
        chat=str(chat),
        user=str(user),
        text=f"/{verb} {question}",
        message_id=payload.get("trigger_id"),
        thread=container.get("thread_ts") or container.get("message_ts"),
    )


class SlackChannel:
    """Events API webhooks or Socket Mode in; chat.postMessage, paced per channel, out."""

    name = "slack"

    def __init__(
        self,
        bot_token: str,
        *,
        signing_secret: str | None = None,
        app_token: str | None = None,
        mode: Literal["http", "socket"] = "http",
        base_url: str | None = None,
    ) -> None:
        try:
            from slack_sdk import WebClient
        except ImportError as err:
            raise MissingExtraError("the Slack channel", "slack") from err
        if mode == "http" and not signing_secret:
            raise ConfigError(
                "the Slack channel needs the app's signing secret to check that requests "
                "come from Slack: copy it from the app's Basic Information page"
            )
        if mode == "socket" and not app_token:
            raise ConfigError("Slack socket mode needs an app-level token (xapp-…)")
        self.mode = mode
        self._secret = signing_secret or ""
        self._app_token = app_token or ""
        self._base_url = base_url or "https://slack.com/api/"
        # The blocking client, in a worker thread: HTTP mode needs no aiohttp (socket
        # mode does, for slack_sdk's socket client).
        self._client: WebClient = WebClient(
            token=bot_token,
            base_url=self._base_url,
            logger=SDK_LOG,  # no text in its logs
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Wait for the requests still being handled."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- inbound ----------------------------------------------------------------------------
    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None:
        """Socket mode: receive over Slack's socket until ``stop``; HTTP mode returns at once."""
        if self.mode == "http":
            return  # ``routes`` serves Slack
        from channels.slack_socket import listen

        def deliver(message: Incoming, button: Pressed | None) -> None:
            self._spawn(receiver, message, button)

        await listen(self._app_token, deliver, stop, base_url=self._base_url)

    def routes(self, receiver: Receiver) -> list[Any]:
        """``POST /slack/events`` for events, slash commands and button presses (HTTP mode)."""
        if self.mode == "socket":
            return []  # no signing secret to check requests with, and nothing to serve
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def events(request: Request) -> Response:
            body = await read_body(request, MAX_BODY)
            if body is None:
                log.warning("slack request refused: body over %d bytes", MAX_BODY)
                return Response(status_code=400)
            if not verify(self._secret, body, request.headers, now=time.time()):
                log.warning("slack request refused: bad or stale signature")
                return Response(status_code=401)
            payload = _parse(body)
            if payload is None:
                log.warning("slack request refused: body is neither JSON nor a form")
                return Response(status_code=400)
            if payload.get("type") == "url_verification":
                return JSONResponse({"challenge": payload.get("challenge", "")})
            if retry := request.headers.get("x-slack-retry-num"):
                reason = request.headers.get("x-slack-retry-reason", "?")
                log.info("slack retry %s (%s) of %s", retry, reason, payload.get("event_id"))
            message = incoming(payload)
            if message is None:
                log.debug("slack request of type %s ignored", payload.get("type"))
                return Response(status_code=200)
            self._spawn(receiver, message, pressed(payload))
            if "command" in payload:
                return JSONResponse(WORKING)
            return Response(status_code=200)

        return [Route("/slack/events", events, methods=["POST"])]

    def _spawn(self, receiver: Receiver, message: Incoming, button: Pressed | None) -> None:
        # Slack wants an answer within 3 s; the gateway's work goes on after it.
        task = asyncio.create_task(self._handle(receiver, message, button))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, receiver: Receiver, message: Incoming, button: Pressed | None) -> None:
        try:
            for answer in await receiver.receive(message):
                # Only an answer the gateway accepted marks the question: a stranger's press,
                # or a press on a question already answered, leaves the message as it is.
                if button and isinstance(answer, Answered) and answer.answers(button.question):
                    await self._mark(button, answer)
                await self.send(answer)
        except Exception:
            log.exception("slack message %s not handled", message.message_id)

    async def _mark(self, button: Pressed, answer: Answered) -> None:
        """Replace the question's buttons by a line saying who decided."""
        from slack_sdk.errors import SlackApiError

        arguments = update(button, answer.line)
        if arguments is None:
            log.info("slack message %s has no buttons of %s to replace", button.ts, button.question)
            return
        try:
            # chat.update is not bound by postMessage's one message a second.
            await self._call(self._client.chat_update, paced=False, **arguments)
        except Exception as err:
            # The answer itself went through (and its reply must still go): only its mark
            # on the question is missing, whatever failed.
            error = err.response.get("error") if isinstance(err, SlackApiError) else err
            log.warning("slack question %s not marked answered: %s", answer.question_id, error)

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        """A shared file's bytes, fetched with the bot token; DocumentRefused past ``limit``."""
        token = self._client.token or ""
        return await fetch(attachment, token=token, api_url=self._base_url, limit=limit)

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, message: Outgoing) -> None:
        """Post in the message's thread; a question ends with Approve and Reject buttons."""
        for arguments in posts(message):
            await self._call(
                self._client.chat_postMessage,
                channel=message.chat,
                thread_ts=message.thread,
                **arguments,
            )

    async def _call(
        self, method: Callable[..., Any], *, channel: str, paced: bool = True, **arguments: Any
    ) -> None:
        """Call a chat method in ``channel``, retried on rate limits; posts are paced."""
        from slack_sdk.errors import SlackApiError

        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            for attempt in range(1, _TRIES + 1):
                wait = self._last.get(channel, -math.inf) + _PACE - time.monotonic()
                if paced and wait > 0:
                    await asyncio.sleep(wait)
                try:
                    await asyncio.to_thread(method, channel=channel, **arguments)
                except SlackApiError as err:
                    if err.response.status_code != 429:
                        raise
                    wait = float(err.response.headers.get("Retry-After", 1))
                    if attempt == _TRIES or wait > _MAX_WAIT:
                        raise
                    log.info("slack rate limit on %s: waiting %.0fs", channel, wait)
                    await asyncio.sleep(wait)
                else:
                    if paced:
                        self._last[channel] = time.monotonic()
                    return


def _parse(body: bytes) -> dict[str, Any] | None:
    """A request body as a dict: Events API JSON, a slash command form, or a button payload."""
    try:
        if body.lstrip().startswith(b"{"):
            payload = json.loads(body)
        else:
            form = dict(parse_qsl(body.decode(), strict_parsing=True))
            payload = json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) and payload else None
