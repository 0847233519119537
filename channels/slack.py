"""The Slack channel: Events API requests (signed HTTP or Socket Mode) in, Block Kit out.

Both modes read payloads with ``incoming`` and answer Slack only once the gateway has
stored what a payload means: Slack forgets a message it got a 2xx or an ack for, so a
store that fails (Redis down) is answered 503, or not acked, and Slack sends it again.
The gateway's replies follow the answer. A payload whose fields have the wrong types is
refused with 400 and one log line: it will never become valid. A question whose button
the gateway accepted gets its buttons replaced by who decided (``chat.update``, see
``channels.answered``). Beside it: ``slack_socket`` (the Socket Mode connection),
``slack_blocks`` (what a message looks like on Slack), ``slack_files`` (files people
share) and ``slack_shares`` (messages they share).
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
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import parse_qsl

from channels.answered import Answered
from channels.slack_blocks import MAX_SECTION, MAX_TEXT, Pressed, posts, pressed, split, update
from channels.slack_files import attachments, fetch
from channels.slack_logs import SDK_LOG
from channels.slack_shares import shared
from equipage.chat import Attachment, Incoming, Outgoing, Receiver
from equipage.errors import ConfigError, MalformedWebhook, MissingExtraError
from equipage.httpserver import read_body, refusing_malformed

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

_T = TypeVar("_T")

MAX_BODY = 1 << 20  # a request larger than this is not Slack's
MAX_AGE = 5 * 60  # Slack's replay window for signed requests, in seconds
_PACE = 1.0  # chat.postMessage allows about one message per second per channel
_TRIES = 3
#: How long Slack's answer waits for the gateway: inside Slack's 3 s, network included.
ACK_WITHIN = 2.0
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
    """The Incoming a request stands for (event, slash command, button), or None.

    Raises MalformedWebhook when a field the crew reads is not of the type Slack sends.
    """
    try:
        return _incoming(payload)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as err:
        # Only the error's type: its message may quote the payload, a person's words.
        raise MalformedWebhook(f"a field has the wrong type ({type(err).__name__})") from None


def _incoming(payload: dict[str, Any]) -> Incoming | None:
    kind = payload.get("type")
    if kind == "event_callback":
        return _event(payload)
    if kind == "block_actions":
        return _action(payload)
    if "command" in payload and "user_id" in payload:
        text = str(payload.get("text") or "").strip() or "/help"
        return Incoming(
            channel="slack",
            chat=_id(payload["channel_id"]),
            user=_id(payload["user_id"]),
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
        chat=_id(event["channel"]),
        user=_id(message["user"]),
        text=_MENTION.sub("", _id(message.get("text") or ""), count=1),
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
        chat=_id(chat),
        user=_id(user),
        text=f"/{verb} {question}",
        message_id=payload.get("trigger_id"),
        thread=container.get("thread_ts") or container.get("message_ts"),
    )


def _id(value: object) -> str:
    """A field Slack always sends as a string; TypeError for anything else."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


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
        ack_within: float = ACK_WITHIN,
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
        self._ack_within = ack_within
        # The blocking client, in a worker thread: HTTP mode needs no aiohttp (socket
        # mode does, for slack_sdk's socket client).
        self._client: WebClient = WebClient(
            token=bot_token,
            base_url=self._base_url,
            logger=SDK_LOG,  # no text in its logs
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

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

        async def accept(message: Incoming, button: Pressed | None) -> bool:
            return await self._accept(receiver, message, button)

        await listen(self._app_token, accept, stop, base_url=self._base_url)

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
            if payload.get("type") == "url_verification":
                return JSONResponse({"challenge": payload.get("challenge", "")})
            if retry := request.headers.get("x-slack-retry-num"):
                reason = request.headers.get("x-slack-retry-reason", "?")
                log.info("slack retry %s (%s) of %s", retry, reason, payload.get("event_id"))
            message = incoming(payload)
            if message is None:
                log.debug("slack request of type %s ignored", payload.get("type"))
                return Response(status_code=200)
            if not await self._accept(receiver, message, pressed(payload)):
                return Response(status_code=503)  # Slack retries; the gateway forgot it
            if "command" in payload:
                return JSONResponse(WORKING)
            return Response(status_code=200)

        # A body Slack never sends (not JSON, a field of the wrong type): 400, one line.
        endpoint = refusing_malformed("slack", log, events)
        return [Route("/slack/events", endpoint, methods=["POST"])]

    async def _accept(self, receiver: Receiver, message: Incoming, button: Pressed | None) -> bool:
        """Hand ``message`` to the gateway and wait until it is stored; False when it is not.

        The gateway's replies are sent after Slack's answer. A gateway not done when
        ``ack_within`` runs out (Redis retrying a lost connection, a large file read) gets
        False too, inside Slack's 3 s: its work goes on, and Slack's next try is either
        dropped as a duplicate (stored meanwhile) or stored (the gateway forgot the first).
        """
        handling = self._keep(receiver.receive(message))
        self._keep(self._reply(handling, message, button))
        done, _ = await asyncio.wait({handling}, timeout=self._ack_within)
        if not done:
            log.warning(
                "slack message %s not stored within %.1fs: Slack will send it again",
                message.message_id,
                self._ack_within,
            )
            return False
        # A failure is logged by _reply.
        return not handling.cancelled() and handling.exception() is None

    def _keep(self, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        """Run ``work`` in a task ``aclose`` waits for."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _reply(
        self, handling: asyncio.Task[list[Outgoing]], message: Incoming, button: Pressed | None
    ) -> None:
        """Send the gateway's answers once it is done; one line when it failed."""
        try:
            answers = await handling
        except Exception as err:
            # The store failed (Redis down) and the gateway forgot the message: Slack's
            # next try is handled afresh.
            log.warning(
                "slack message %s not stored, Slack will send it again: %s: %s",
                message.message_id,
                type(err).__name__,
                err,
            )
            return
        try:
            for answer in answers:
                # Only an answer the gateway accepted marks the question: a stranger's press,
                # or a press on a question already answered, leaves the message as it is.
                if button and isinstance(answer, Answered) and answer.answers(button.question):
                    await self._mark(button, answer)
                await self.send(answer)
        except Exception:
            log.exception("slack answer to %s not sent", message.message_id)

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


def _parse(body: bytes) -> dict[str, Any]:
    """A request body as a dict: Events API JSON, a slash command form, or a button payload.

    Raises MalformedWebhook for anything else.
    """
    try:
        if body.lstrip().startswith(b"{"):
            payload = json.loads(body)
        else:
            form = dict(parse_qsl(body.decode(), strict_parsing=True))
            payload = json.loads(form["payload"]) if "payload" in form else form
    except RecursionError:  # not a ValueError: json gives up on deep nesting this way
        raise MalformedWebhook("the body is JSON nested too deep") from None
    except ValueError:  # UnicodeDecodeError included
        raise MalformedWebhook("the body is neither JSON in UTF-8 nor a form") from None
    if not isinstance(payload, dict) or not payload:
        raise MalformedWebhook("the body is not a JSON object or a form")
    return payload
