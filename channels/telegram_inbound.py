"""How Telegram Updates reach the adapter: long polling, or a webhook that Telegram calls.

``poll`` long-polls ``getUpdates`` and confirms an update (the next offset) only once it
was handled, so one that failed comes again. In webhook mode ``register`` calls
``setWebhook`` with the secret at start, and ``webhook_route`` serves
``POST /telegram/webhook``, refusing requests without that secret in the
``X-Telegram-Bot-Api-Secret-Token`` header. Each update is handed to ``handle`` as the
Bot API's JSON; transient failures are retried with back-offs that a stop cuts short.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from channels.telegram_send import Api, retry_seconds
from channels.telegram_updates import ALLOWED_UPDATES, check_shape
from equipage.errors import ConfigError, MalformedWebhook, StillHandling
from equipage.httpserver import read_body, read_json, refusing_malformed

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

__all__ = ["MAX_BODY", "WEBHOOK_IS_SET", "Handle", "poll", "register", "webhook_route"]

# The channel's one logger, as before its modules were split: its level still covers all.
log = logging.getLogger("channels.telegram")

#: Where an Update goes, as the Bot API's JSON object.
Handle: TypeAlias = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 1 << 20  # a webhook update larger than this is not Telegram's
WEBHOOK_IS_SET = (
    "a webhook is set for this bot, and Telegram refuses long polling while it is: set "
    "channels.telegram.mode: webhook (with webhook_url) in company.yaml, or remove the "
    "webhook with: curl https://api.telegram.org/bot$TELEGRAM_BOT_TOKEN/deleteWebhook"
)
_BAD_TOKEN = "Telegram refused the bot token: check it with @BotFather"


async def poll(api: Api, handle: Handle, stop: asyncio.Event, timeout: int) -> None:
    """Long-poll getUpdates, ``timeout`` seconds a call, until ``stop`` is set."""
    from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

    offset: int | None = None
    while not stop.is_set():
        try:
            bot = await api()
            updates = await bot.get_updates(offset=offset, timeout=timeout)
        except InvalidToken as err:
            raise ConfigError(_BAD_TOKEN) from err
        except RetryAfter as err:
            await _pause(stop, retry_seconds(err))
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
                await handle(update.to_dict())
            except StillHandling:
                # An earlier delivery (a run cut short) still claims it: handled once the
                # claim is done or lapses.
                log.info("telegram update %s still being stored; retrying", update.update_id)
                await _pause(stop, 1.0)
                break
            except Exception:
                # Not confirmed: the next getUpdates hands the update over again.
                log.exception("telegram update %s not handled; retrying", update.update_id)
                await _pause(stop, 1.0)
                break
            offset = update.update_id + 1


async def register(api: Api, url: str, secret: str, stop: asyncio.Event) -> None:
    """setWebhook with the secret; the same call again on each start changes nothing."""
    from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError

    failures = 0
    while not stop.is_set():
        try:
            bot = await api()
            await bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,  # what came while we were down is still wanted
            )
        except InvalidToken as err:
            raise ConfigError(_BAD_TOKEN) from err
        except BadRequest as err:
            raise ConfigError(
                f"Telegram refused the webhook URL {url} ({err}): set "
                "channels.telegram.webhook_url to the public HTTPS address that reaches "
                "/telegram/webhook on this server"
            ) from err
        except RetryAfter as err:
            await _pause(stop, retry_seconds(err))
        except TelegramError as err:
            failures += 1
            log.warning("telegram setWebhook failed (%s); retrying", err)
            await _pause(stop, min(2.0**failures, 60.0))
        else:
            log.info("telegram webhook set to %s", url)
            return


def webhook_route(secret: str, handle: Handle) -> Route:
    """``POST /telegram/webhook``: updates Telegram posts with ``secret`` in the header."""
    from starlette.responses import Response
    from starlette.routing import Route

    async def webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook refused: wrong or missing secret token")
            return Response(status_code=401)
        body = await read_body(request, MAX_BODY)
        if body is None:
            raise MalformedWebhook(f"the body is over {MAX_BODY} bytes")
        update = read_json(body)
        check_shape(update)
        # Anything raised from here is ours (Redis down...): a 500, and Telegram sends again.
        await handle(update)
        return Response(status_code=200)

    guarded = refusing_malformed("telegram", log, webhook)
    return Route("/telegram/webhook", guarded, methods=["POST"])


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less when ``stop`` is set: a back-off must not hold up a shutdown."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
