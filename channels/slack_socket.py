"""Slack Socket Mode: envelopes over a WebSocket, handed on as Incoming, acked once stored.

slack_sdk's aiohttp ``SocketModeClient`` opens the socket with ``apps.connections.open``
(app-level ``xapp-`` token), pings it, and reconnects on ``disconnect`` messages and
dropped sockets. Each envelope's payload is read by the same ``incoming`` as an HTTP
request's; what it means goes to ``accept``, with the message whose button was pressed
when there is one, which returns once the gateway has stored it (milliseconds, always
inside Slack's 3 s). Only then is the envelope acked: Slack redelivers an envelope it got
no ack for, so one whose store failed is left unacked. An envelope the crew does not
read, or whose fields have the wrong types, is acked at once: it will never be read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from channels.slack import WORKING, incoming
from channels.slack_blocks import Pressed, pressed
from channels.slack_logs import SDK_LOG
from equipage.chat import Incoming
from equipage.errors import ConfigError, MalformedWebhook, MissingExtraError

if TYPE_CHECKING:
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

__all__ = ["listen"]

log = logging.getLogger(__name__)

# Errors of apps.connections.open that no retry will fix: the token is wrong.
_REFUSED = {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked"}


async def listen(
    app_token: str,
    accept: Callable[[Incoming, Pressed | None], Awaitable[bool]],
    stop: asyncio.Event,
    *,
    base_url: str,
) -> None:
    """Receive over Socket Mode until ``stop`` is set, then close the socket and its tasks.

    Raises ConfigError when Slack refuses ``app_token``; network failures are retried.
    """
    try:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.socket_mode.aiohttp import SocketModeClient
        from slack_sdk.web.async_client import AsyncWebClient
    except ImportError as err:
        raise MissingExtraError("Slack socket mode", "slack") from err

    async def on_request(_: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await _acknowledge(client, request, accept)

    # Their debug lines carry envelopes and tickets: SDK_LOG blanks those.
    web = AsyncWebClient(base_url=base_url, logger=SDK_LOG)
    client = SocketModeClient(app_token, web_client=web, logger=SDK_LOG)
    client.socket_mode_request_listeners.append(on_request)
    connecting: asyncio.Future[Any] | None = None
    try:
        try:
            # Asked here rather than inside connect(), which retries any error forever:
            # a refused token must stop the channel with a message instead.
            client.wss_uri = await client.issue_new_wss_url()
        except SlackApiError as err:
            error = str(err.response.get("error", ""))
            if error in _REFUSED:
                raise ConfigError(
                    f"Slack refused the app-level token ({error}): create one with the "
                    "connections:write scope under the app's Basic Information > App-Level "
                    "Tokens, and turn Socket Mode on"
                ) from err
            log.warning("slack apps.connections.open failed (%s); retrying", error)
        connecting = asyncio.ensure_future(client.connect())  # type: ignore[no-untyped-call]
        await stop.wait()
    finally:
        await _close(client, connecting)


async def _acknowledge(
    client: AsyncBaseSocketModeClient,
    request: SocketModeRequest,
    accept: Callable[[Incoming, Pressed | None], Awaitable[bool]],
) -> None:
    """Hand on what the envelope means; ack it once stored, or when there is nothing to store."""
    from slack_sdk.socket_mode.response import SocketModeResponse

    if request.retry_attempt:
        log.info(
            "slack retry %s (%s) of %s",
            request.retry_attempt,
            request.retry_reason or "?",
            request.payload.get("event_id") if isinstance(request.payload, dict) else None,
        )
    try:
        message = incoming(request.payload)
    except MalformedWebhook as err:
        log.warning("slack %s envelope acked unread: %s", request.type, err)
        message = None
    else:
        if message is None:
            log.debug("slack %s envelope ignored", request.type)
        elif not await accept(message, pressed(request.payload)):
            return  # not acked: Slack sends it again (the channel logged why)
    answer = WORKING if message is not None and request.type == "slash_commands" else None
    await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer))


async def _close(client: SocketModeClient, connecting: asyncio.Future[Any] | None) -> None:
    """Close the socket and the aiohttp session, and wait for every task the client started.

    slack_sdk's close() cancels its tasks without waiting for them, and a connect()
    still retrying would go on after it: both are awaited here, so nothing outlives run().
    """
    if connecting is not None:
        connecting.cancel()
    try:
        await client.close()  # type: ignore[no-untyped-call]
    except Exception as err:  # a socket already broken may fail to close; the rest must
        log.warning("slack socket did not close cleanly: %s", err)
    owned = [connecting, client.message_processor]
    owned += [client.current_session_monitor, client.message_receiver]
    tasks = [task for task in owned if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if not client.aiohttp_client_session.closed:  # a reconnect made a new one meanwhile
        await client.aiohttp_client_session.close()
