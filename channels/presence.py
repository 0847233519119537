"""The "typing…" indicator, kept alive in the background while the crew works on a request.

Platforms drop the indicator after a few seconds (Telegram: about 5), so it is sent again
every ``every`` seconds until the gateway delivers something to that chat, or ``longest``
seconds pass. It runs in tasks the gateway owns: answering the platform's webhook never
waits on it, and ``aclose`` ends them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Presence"]

log = logging.getLogger(__name__)

Typing = Callable[[str], Awaitable[None]]


class Presence:
    """One background typing task per conversation ``(channel, chat)``."""

    def __init__(self, *, every: float = 4.0, longest: float = 120.0) -> None:
        self.every = every
        self.longest = longest
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    @property
    def chats(self) -> frozenset[tuple[str, str]]:
        """The conversations whose indicator is being kept alive now."""
        return frozenset(key for key, task in self._tasks.items() if not task.done())

    def start(self, channel: str, chat: str, typing: Typing) -> None:
        """Show typing in ``chat`` now and keep it up (a later request restarts the clock)."""
        self.stop(channel, chat)
        key = (channel, chat)
        task = asyncio.create_task(self._keep(channel, chat, typing), name=f"typing {key}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def stop(self, channel: str, chat: str) -> None:
        """Stop the indicator of one conversation: its answer is going out."""
        task = self._tasks.pop((channel, chat), None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every indicator and wait until each task has ended."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _keep(self, channel: str, chat: str, typing: Typing) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + self.longest
        while True:
            try:
                await typing(chat)
            except Exception as err:  # a courtesy: a platform refusing it is not worth more
                log.info("typing indicator on %s failed: %s", channel, err)
                return
            left = end - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(self.every, left))
