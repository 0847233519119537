"""The Slack channel: a slack-bolt app fed by signed HTTP requests or Socket Mode, Block Kit out.

Both ways in hand a payload to the bolt app of ``slack_app``, with the ``Incoming`` it
stands for (``slack_inbound``), and the app answers Slack only once the gateway has
stored it: Slack forgets a message it got a 2xx or an ack for, so a store that fails
(Redis down) is answered 503, or not acked, and Slack sends it again. The gateway's
replies follow the answer, in the message's thread. A body whose fields have the wrong
types is refused with 400 and one log line: it will never become valid. A question
whose button the gateway accepted gets its buttons replaced by who decided
(``chat.update``, see ``channels.answered``), and so does one answered elsewhere, from the
message ``ask`` posted (``channels.asked``); a reply shows in one message updated as the
crew writes it (``channels.streaming``). Beside it: ``slack_socket`` (the Socket
Mode connection), ``slack_blocks`` (what a message looks like on Slack), ``slack_files``
(files people share) and ``slack_shares`` (messages they share).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from channels.answered import Answered, mark
from channels.asked import Sent
from channels.delivery import Later, retried
from channels.slack_app import WORKING, bolt_app, bolt_request
from channels.slack_blocks import MAX_SECTION, MAX_TEXT, Pressed, posts, split, update
from channels.slack_files import fetch
from channels.slack_inbound import incoming, parse, verify
from channels.slack_logs import SDK_LOG
from equipage.chat import Attachment, Incoming, Outgoing, Receiver
from equipage.errors import ConfigError, MissingExtraError
from equipage.httpserver import read_body, refusing_malformed

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk import WebClient
    from slack_sdk.web.async_client import AsyncWebClient
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
_PACE = 1.0  # chat.postMessage allows about one message per second per channel
#: How long Slack's answer waits for the gateway: inside Slack's 3 s, network included.
ACK_WITHIN = 2.0


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
            import slack_bolt  # noqa: F401  (the way in)
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
        self._bot_token = bot_token
        self._app_token = app_token or ""
        self._base_url = base_url or "https://slack.com/api/"
        self._ack_within = ack_within
        # Posts and updates: the blocking client, in a worker thread, paced per channel
        # by ``_call``. bolt's async client (``_web``) serves the way in only.
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

        web = self._web()
        await listen(self._app(receiver, web), self._app_token, stop, web=web)

    def routes(self, receiver: Receiver) -> list[Any]:
        """``POST /slack/events`` for events, slash commands and button presses (HTTP mode)."""
        if self.mode == "socket":
            return []  # no signing secret to check requests with, and nothing to serve
        from slack_bolt.adapter.starlette.async_handler import to_starlette_response
        from starlette.responses import Response
        from starlette.routing import Route

        app = self._app(receiver, self._web())

        async def events(request: Request) -> Response:
            body = await read_body(request, MAX_BODY)
            if body is None:
                log.warning("slack request refused: body over %d bytes", MAX_BODY)
                return Response(status_code=400)
            # Checked here on the bytes, before anything reads them: bolt parses a body
            # before its own verification (which follows, on the text) checks who sent it.
            if not verify(self._secret, body, request.headers, now=time.time()):
                log.warning("slack request refused: bad or stale signature")
                return Response(status_code=401)
            payload = parse(body)
            # parse() has read it as UTF-8 already.
            bolt = bolt_request(payload, raw=body.decode(), headers=request.headers, mode="http")
            return to_starlette_response(await app.async_dispatch(bolt))

        # A body Slack never sends (not JSON, a field of the wrong type): 400, one line.
        endpoint = refusing_malformed("slack", log, events)
        return [Route("/slack/events", endpoint, methods=["POST"])]

    def _app(self, receiver: Receiver, web: AsyncWebClient) -> AsyncApp:
        """The bolt app handing what Slack sends to ``receiver``."""

        async def store(message: Incoming, button: Pressed | None) -> bool:
            return await self._accept(receiver, message, button)

        return bolt_app(self._bot_token, self._secret, web, store)

    def _web(self) -> AsyncWebClient:
        """The async client bolt and Socket Mode call Slack with (apps.connections.open)."""
        from slack_sdk.web.async_client import AsyncWebClient

        # Their debug lines carry envelopes and tickets: SDK_LOG blanks those.
        return AsyncWebClient(base_url=self._base_url, logger=SDK_LOG)

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
                if button:
                    edit = partial(self._mark, button)
                    await mark(answer, button.question, edit, channel="slack", log=log, reason=_why)
                await self.send(answer)
        except Exception:
            log.exception("slack answer to %s not sent", message.message_id)

    async def _mark(self, button: Pressed, answer: Answered) -> None:
        """Replace the question's buttons by a line saying who decided."""
        arguments = update(button, answer.line)
        if arguments is None:
            log.info("slack message %s has no buttons of %s to replace", button.ts, button.question)
            return
        # chat.update is not bound by postMessage's one message a second.
        await self._call(self._client.chat_update, paced=False, **arguments)

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        """A shared file's bytes, fetched with the bot token; DocumentRefused past ``limit``."""
        token = self._client.token or ""
        return await fetch(attachment, token=token, api_url=self._base_url, limit=limit)

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, message: Outgoing) -> None:
        """Post in the message's thread; a question ends with Approve and Reject buttons."""
        await self._post(message)

    async def ask(self, message: Outgoing) -> Sent | None:
        """Post a question as ``send`` does; the message that holds its buttons."""
        last = await self._post(message)
        if last is None or message.question is None:
            return None
        posted, arguments = last
        return Sent(
            channel=message.channel,
            chat=str(posted.get("channel") or message.chat),  # a DM's id, not the user's
            ref=str(posted["ts"]),
            question=message.question.id,
            text=str(arguments.get("text") or ""),
            layout=tuple(arguments.get("blocks") or ()),
        )

    async def mark(self, sent: Sent, answer: Answered) -> None:
        """Replace the buttons of a question answered elsewhere by who decided."""
        shown = Pressed(
            channel=sent.chat,
            ts=sent.ref,
            question=sent.question,
            text=sent.text,
            blocks=sent.layout,
        )
        await self._mark(shown, answer)

    async def _post(self, message: Outgoing) -> tuple[Any, dict[str, Any]] | None:
        """Post ``message``; Slack's answer to the last post, and what it posted."""
        last: tuple[Any, dict[str, Any]] | None = None
        for arguments in posts(message):
            posted = await self._call(
                self._client.chat_postMessage,
                channel=message.chat,
                thread_ts=message.thread,
                **arguments,
            )
            last = (posted, arguments)
        return last

    async def draft(self, message: Outgoing, ref: str | None) -> str:
        """Show a reply while it is written: one message, updated as it grows (chat.update)."""
        pieces = posts(message.model_copy(update={"text": message.text + " …"}))
        if ref is None:
            posted = await self._call(
                self._client.chat_postMessage,
                channel=message.chat,
                thread_ts=message.thread,
                **pieces[0],
            )
            return str(posted["ts"])
        # The gateway paces a draft's edits: one a second, as Slack's tier allows.
        await self._call(
            self._client.chat_update, channel=message.chat, paced=False, ts=ref, **pieces[0]
        )
        return ref

    async def settle(self, message: Outgoing, ref: str) -> None:
        """Update the draft ``ref`` into the reply's first part; the others follow as posts."""
        first, *rest = posts(message) or [{"text": "…"}]
        await self._call(
            self._client.chat_update, channel=message.chat, paced=False, ts=ref, **first
        )
        for arguments in rest:
            await self._call(
                self._client.chat_postMessage,
                channel=message.chat,
                thread_ts=message.thread,
                **arguments,
            )

    async def _call(
        self, method: Callable[..., Any], *, channel: str, paced: bool = True, **arguments: Any
    ) -> Any:
        """Call a chat method in ``channel``, retried on rate limits; posts are paced."""

        async def once(_attempt: int) -> Any:
            wait = self._last.get(channel, -math.inf) + _PACE - time.monotonic()
            if paced and wait > 0:
                await asyncio.sleep(wait)
            answer = await asyncio.to_thread(method, channel=channel, **arguments)
            if paced:
                self._last[channel] = time.monotonic()
            return answer

        def waiting(wait: float) -> None:
            log.info("slack rate limit on %s: waiting %.0fs", channel, wait)

        async with self._locks.setdefault(channel, asyncio.Lock()):
            return await retried(once, _later, waiting=waiting)


def _why(err: Exception) -> object:
    """What Slack said when it refused (its error code), or the error itself."""
    from slack_sdk.errors import SlackApiError

    return err.response.get("error") if isinstance(err, SlackApiError) else err


def _later(err: Exception) -> Later | None:
    """Slack's rate limit (429), with the wait it asks for: a second when it names none."""
    from slack_sdk.errors import SlackApiError

    if isinstance(err, SlackApiError) and err.response.status_code == 429:
        return Later(float(err.response.headers.get("Retry-After", 1)))
    return None
