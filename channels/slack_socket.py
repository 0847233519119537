"""Slack Socket Mode: envelopes over a WebSocket, acknowledged at once, handed on as Incoming.

slack_sdk's aiohttp ``SocketModeClient`` opens the socket with ``apps.connections.open``
(app-level ``xapp-`` token), pings it, and reconnects on ``disconnect`` messages and
dropped sockets. Each envelope is acknowledged on the socket before anything else
happens, well inside Slack's 3 s, and its payload is read by the same ``incoming`` as
an HTTP request's; what it means is delivered to ``deliver``, with the message whose
button was pressed when there is one, and must not block.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from channels.slack import WORKING, incoming
from channels.slack_blocks import Pressed, pressed
from channels.slack_logs import SDK_LOG
from equipage.chat import Incoming
from equipage.errors import ConfigError, MissingExtraError

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
    deliver: Callable[[Incoming, Pressed | None], None],
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
        await _acknowledge(client, request, deliver)

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
    deliver: Callable[[Incoming, Pressed | None], None],
) -> None:
    """Ack the envelope on the socket first; only then hand on what it means."""
    from slack_sdk.socket_mode.response import SocketModeResponse

    message = incoming(request.payload)
    answer = WORKING if message is not None and request.type == "slash_commands" else None
    await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer))
    if request.retry_attempt:
        log.info(
            "slack retry %s (%s) of %s",
            request.retry_attempt,
            request.retry_reason or "?",
            request.payload.get("event_id"),
        )
    if message is None:
        log.debug("slack %s envelope ignored", request.type)
        return
    deliver(message, pressed(request.payload))


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
