"""Serve a Starlette app with uvicorn inside the running event loop, and read webhooks.

The webhook server of ``equipage up`` and the fake platform servers of
``equipage.testing`` use it; ``read_body`` is how every webhook reads what it is sent,
``read_json`` and ``shaped`` how it reads the JSON object in it, and ``refusing_malformed``
guards a webhook endpoint: a :class:`MalformedWebhook` raised while reading becomes a 400
and one warning, never a 500 and a traceback. Failures on our side (Redis down) still
propagate as a 500, so the platform delivers again.
The socket is bound and listening before uvicorn starts, so clients may connect at
once; signals stay with the caller (the CLI, pytest); and ``stop`` asks uvicorn to exit
instead of cancelling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from equipage.errors import MalformedWebhook, StillHandling
from equipage.metrics import webhook_timed

__all__ = ["LocalServer", "read_body", "read_json", "refusing_malformed", "shaped"]

Model = TypeVar("Model", bound=BaseModel)
Endpoint = Callable[[Any], Awaitable[Any]]


async def read_body(request: Any, limit: int) -> bytes | None:
    """The raw body of a Starlette request, or None past ``limit`` bytes.

    Reads no further than the limit, whatever Content-Length claims, so an oversized
    or endless body costs at most ``limit`` bytes of memory.
    """
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def read_json(body: bytes) -> dict[str, Any]:
    """The JSON object a webhook body holds; MalformedWebhook when it holds none."""
    if not body:
        raise MalformedWebhook("the body is empty")
    try:
        value = json.loads(body)
    except RecursionError:  # not a ValueError: json gives up on deep nesting this way
        raise MalformedWebhook("the body is JSON nested too deep") from None
    except ValueError:  # UnicodeDecodeError included
        raise MalformedWebhook("the body is not JSON in UTF-8") from None
    if not isinstance(value, dict):
        raise MalformedWebhook("the body is JSON but not an object")
    return value


def shaped(model: type[Model], data: dict[str, Any]) -> Model:
    """``data`` read as ``model``; MalformedWebhook naming the fields, never their values."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        fields = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)[:3]
        )
        raise MalformedWebhook(f"fields of the wrong shape ({fields})") from None


def refusing_malformed(platform: str, log: logging.Logger, endpoint: Endpoint) -> Endpoint:
    """``endpoint``, answering 400 with one warning when it raises MalformedWebhook, and
    503 with one line when the message is still being stored (the platform sends again)."""
    from starlette.responses import PlainTextResponse

    async def guarded(request: Any) -> Any:
        try:
            with webhook_timed(platform):
                return await endpoint(request)
        except MalformedWebhook as err:
            log.warning("%s webhook refused: %s", platform, err)
            return PlainTextResponse("Malformed webhook body", 400)
        except StillHandling as err:
            log.info("%s webhook answered later: %s is still being stored", platform, err)
            return PlainTextResponse("Still being stored, send again", 503)

    return guarded


class LocalServer:
    """One app on ``host:port`` (port 0: a free one), started and stopped in this loop."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Listen and serve; returns the base URL."""
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # Ctrl-C belongs to the CLI or to pytest, not to this server

        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it a response written in two parts waits 40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError:
            sock.close()  # the caller may try another port: leak nothing
            raise
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = Quiet(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self.url

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
