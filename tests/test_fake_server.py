"""The base of the fake servers: routes served on a free port, waits ended on the way out."""

from __future__ import annotations

import asyncio

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer
from equipage.testing.waiting import wait_until


class Toy(FakeServer):
    """Answers /ping at once and holds /poll until the server stops."""

    def __init__(self) -> None:
        super().__init__()
        self.polling = 0
        self.released = False

    def routes(self) -> list[BaseRoute]:
        return [Route("/ping", self._ping), Route("/poll", self._poll)]

    def _release(self) -> None:
        self.released = True

    async def _ping(self, request: Request) -> Response:
        return PlainTextResponse("pong")

    async def _poll(self, request: Request) -> Response:
        self.polling += 1
        await self._closing.wait()
        return PlainTextResponse("closed")


async def test_a_fake_serves_its_routes_on_a_free_port_while_in_async_with() -> None:
    toy = Toy()
    assert not toy.started and toy.origin == "http://127.0.0.1:0"
    async with toy, httpx.AsyncClient(base_url=toy.origin) as client:
        assert toy.started and not toy.origin.endswith(":0")
        assert (await client.get("/ping")).text == "pong"


async def test_leaving_async_with_ends_waiting_handlers_and_calls_release() -> None:
    toy = Toy()
    async with toy:
        client = httpx.AsyncClient(base_url=toy.origin)
        poll = asyncio.create_task(client.get("/poll"))

        async def polling() -> bool:
            return toy.polling == 1

        await wait_until(polling, what="the poll to arrive")
    answer = await asyncio.wait_for(poll, 5)
    await client.aclose()
    assert answer.text == "closed" and toy.released
