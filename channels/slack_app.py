"""The Slack channel's slack-bolt ``AsyncApp``: events, button presses and slash commands.

Both ways in (the signed HTTP route and the Socket Mode handler) hand bolt a request whose
context already holds the ``Incoming`` it stands for, read by ``slack_inbound.incoming``;
bolt verifies HTTP requests, answers ``url_verification`` and ``ssl_check``, and routes
the rest to one listener per kind. With ``process_before_response`` bolt answers only
once the listener returns, so the listener stores first: a message the gateway stored is
acked (a slash command with ``WORKING``), one it did not store in time is answered 503,
which Slack retries over HTTP and which the Socket Mode handler leaves unacked. A request
the crew does not read is answered 200 at once, where bolt would answer 404 and log it;
one whose fields bolt cannot route (an action without its id) gets 400, or is acked, with
one line, where bolt would answer 500 with a traceback. The listener does nothing else:
the replies and the question's buttons follow in the channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from channels.slack_blocks import Pressed, pressed
from channels.slack_inbound import incoming
from equipage.chat import Incoming
from equipage.errors import MalformedWebhook

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
    from slack_bolt.authorization import AuthorizeResult
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_bolt.response import BoltResponse
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["WORKING", "Store", "bolt_app", "bolt_request"]

log = logging.getLogger(__name__)

#: What a slash command is answered at once, seen only by the person who typed it.
WORKING = {"response_type": "ephemeral", "text": "Working on it…"}

#: Hands a message to the gateway; True once it is stored.
Store = Callable[[Incoming, Pressed | None], Awaitable[bool]]

# What reading a field of the wrong type raises, in bolt as in ``incoming``.
_READING = (AttributeError, TypeError, ValueError, KeyError, IndexError)

_INCOMING = "equipage_incoming"
_PRESSED = "equipage_pressed"


def bolt_app(bot_token: str, signing_secret: str, client: AsyncWebClient, store: Store) -> AsyncApp:
    """The AsyncApp that stores what a request means, then acks it."""
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    async def authorize() -> AuthorizeResult:
        # One workspace and its bot token: no auth.test call before the first ack.
        return AuthorizeResult(enterprise_id=None, team_id=None, bot_token=bot_token)

    app = AsyncApp(
        name="equipage",  # else bolt names it after its caller's file, reading the stack
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=True,
        # ``incoming`` drops every bot's posts, ours included, without an auth.test.
        ignoring_self_events_enabled=False,
        logger=client.logger,
    )
    app.use(_log_retry)
    app.use(_skip_unread)
    app.error(_unreadable)

    async def handle(ack: AsyncAck, context: AsyncBoltContext, body: dict[str, Any]) -> Any:
        if not await store(context[_INCOMING], context.get(_PRESSED)):
            return _response(503)  # not stored: Slack sends it again
        await ack(WORKING if "command" in body else "")
        return None

    anything = re.compile(".*")
    app.event(anything)(handle)
    app.action(anything)(handle)
    app.command(anything)(handle)
    return app


def bolt_request(
    payload: dict[str, Any],
    *,
    raw: str | None,
    headers: Mapping[str, str | Sequence[str]] | None,
    mode: Literal["http", "socket_mode"],
) -> AsyncBoltRequest:
    """The request bolt dispatches, carrying the Incoming ``payload`` stands for.

    Raises MalformedWebhook when ``payload`` has fields of the wrong type, for the crew
    (``incoming``) or for bolt, which reads ids out of the body as it builds the request.
    """
    from slack_bolt.async_app import AsyncBoltRequest

    message = incoming(payload)
    context = {_INCOMING: message, _PRESSED: pressed(payload) if message else None}
    body: str | dict[str, Any] = raw if raw is not None else payload
    try:
        return AsyncBoltRequest(body=body, headers=dict(headers or {}), context=context, mode=mode)
    except (*_READING, RecursionError) as err:
        raise MalformedWebhook(f"bolt cannot read a field ({type(err).__name__})") from None


async def _log_retry(
    request: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[None]]
) -> None:
    """One line for Slack's retries: the gateway drops what it already stored."""
    if retry := request.headers.get("x-slack-retry-num", [None])[0]:
        reason = request.headers.get("x-slack-retry-reason", ["?"])[0]
        log.info("slack retry %s (%s) of %s", retry, reason, body.get("event_id"))
    await next()


async def _skip_unread(
    context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    """Ack at once what the crew does not read (reactions, joins, other bots' posts)."""
    if context.get(_INCOMING) is None:
        log.debug("slack request of type %s ignored", body.get("type"))
        return _response(200)
    await next()
    return None


async def _unreadable(error: Exception, request: AsyncBoltRequest) -> BoltResponse | None:
    """A body bolt's routing cannot read (an action without its id): 400, or acked, and one line.

    bolt answers 500 and logs a traceback for it; it will never become valid, so Slack
    must not send it again. Any other error keeps bolt's 500: ours, and worth a retry.
    """
    if not isinstance(error, _READING):
        log.error("slack request failed: %s", type(error).__name__, exc_info=error)
        return None
    # Only the error's type: its message may quote the payload, a person's words.
    if request.mode == "socket_mode":
        log.warning(
            "slack envelope acked unread: bolt cannot read a field (%s)", type(error).__name__
        )
        return _response(200)
    log.warning("slack request refused: bolt cannot read a field (%s)", type(error).__name__)
    return _response(400)


def _response(status: int) -> BoltResponse:
    from slack_bolt.response import BoltResponse

    return BoltResponse(status=status, body="")
