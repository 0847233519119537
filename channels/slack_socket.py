"""Slack Socket Mode: envelopes over a WebSocket, dispatched to the bolt app, acked once stored.

slack-bolt's ``AsyncSocketModeHandler`` (on slack_sdk's aiohttp ``SocketModeClient``)
opens the socket with ``apps.connections.open`` (app-level ``xapp-`` token), pings it,
reconnects on ``disconnect`` messages and dropped sockets, and acks an envelope only when
the bolt app answers it 200: the app's listener answers once the gateway has stored what
the envelope means (milliseconds, always inside Slack's 3 s), and 503 when it could not,
so Slack redelivers it. An envelope whose fields have the wrong types is acked at once
with one warning: it will never be read. Here: the handler, and the socket's lifecycle
(a refused token stops the channel; ``stop`` closes the socket and every task it started).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from channels.slack_app import bolt_request
from channels.slack_logs import SDK_LOG
from equipage.errors import ConfigError, MalformedWebhook, MissingExtraError

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["listen"]

log = logging.getLogger(__name__)

# Errors of apps.connections.open that no retry will fix: the token is wrong.
_REFUSED = {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked"}


async def listen(
    app: AsyncApp, app_token: str, stop: asyncio.Event, *, web: AsyncWebClient
) -> None:
    """Receive over Socket Mode until ``stop`` is set, then close the socket and its tasks.

    Raises ConfigError when Slack refuses ``app_token``; network failures are retried.
    """
    try:
        from slack_sdk.errors import SlackApiError
    except ImportError as err:
        raise MissingExtraError("Slack socket mode", "slack") from err

    # Its debug lines carry envelopes and tickets: SDK_LOG blanks those.
    client = _handler(app, app_token, web).client
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


def _handler(app: AsyncApp, app_token: str, web: AsyncWebClient) -> AsyncSocketModeHandler:
    """bolt's aiohttp handler, reading each envelope with ``bolt_request`` first."""
    try:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
        from slack_bolt.adapter.socket_mode.async_internals import send_async_response
        from slack_bolt.adapter.socket_mode.internals import build_headers
        from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
        from slack_sdk.socket_mode.request import SocketModeRequest
        from slack_sdk.socket_mode.response import SocketModeResponse
    except ImportError as err:
        raise MissingExtraError("Slack socket mode", "slack") from err

    class Handler(AsyncSocketModeHandler):
        async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
            started = time.time()
            try:
                headers = build_headers(req)
                request = bolt_request(req.payload, raw=None, headers=headers, mode="socket_mode")
            except MalformedWebhook as err:
                log.warning("slack %s envelope acked unread: %s", req.type, err)
                await client.send_socket_mode_response(SocketModeResponse(req.envelope_id))
                return
            answer = await self.app.async_dispatch(request)
            await send_async_response(client, req, answer, started)

    return Handler(app, app_token, logger=SDK_LOG, web_client=web)


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
