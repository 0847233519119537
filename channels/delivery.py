"""What every adapter does to get a message through: cut it to size, retry when told to wait.

A platform caps a message's length and, when sent too much, answers "later" (HTTP 429
and a retry-after). Both are handled here once; an adapter only says its limits: the
length and where a piece may end (``split``), and which of its errors means "later" and
for how long (``retried``). A wait longer than the policy allows, or one too many, is
raised to the adapter's caller: the gateway retries the whole message later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

__all__ = ["RETRY", "Break", "Later", "RetryPolicy", "fit", "retried", "split"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Later:
    """A platform's "try again later": after ``seconds``, or the policy's backoff if None."""

    seconds: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a call the platform refused for now is tried again."""

    tries: int = 3
    max_wait: float = 30.0  # a longer wait goes back to the gateway's retry of the message
    backoff: float = 0.5  # the first wait when the platform names none; doubles each time

    def wait(self, later: Later, attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (from 1)."""
        if later.seconds is not None:
            return later.seconds
        return self.backoff * 2.0 ** (attempt - 1)


RETRY = RetryPolicy()


async def retried(
    call: Callable[[int], Awaitable[_T]],
    later: Callable[[Exception], Later | None],
    *,
    policy: RetryPolicy = RETRY,
    waiting: Callable[[float], object] | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> _T:
    """``call(attempt)`` until it returns, retried while ``later`` reads its error as "later".

    ``later`` gives None for an error no wait fixes: it is raised at once. The last
    error is raised as it is when the tries are spent or the wait asked is too long.
    ``waiting`` hears each wait before it starts (for the adapter's log line).
    """
    attempt = 1
    while True:
        try:
            return await call(attempt)
        except Exception as err:
            asked = later(err)
            if asked is None or attempt >= policy.tries:
                raise
            wait = policy.wait(asked, attempt)
            if wait > policy.max_wait:
                raise
            if waiting is not None:
                waiting(wait)
            await sleep(wait)
        attempt += 1


class Break(NamedTuple):
    """Where a piece may end: just after the last of ``marks`` that starts at ``floor`` or later.

    The floor keeps a piece from ending so early that it wastes a message.
    """

    marks: tuple[str, ...]
    floor: int


def split(
    text: str,
    limit: int,
    breaks: Sequence[Break],
    *,
    size: Callable[[str], int] | None = None,
    fallback: Callable[[str], int] | None = None,
) -> list[str]:
    """Cut ``text`` into the non-blank pieces, in order, of at most ``limit`` each.

    A piece that must be cut ends at the first of ``breaks`` found in what fits, else
    where ``fallback`` says (given what fits, it returns the length to keep), else
    where the room ends. ``size`` counts one character as the platform does (len).
    """
    pieces: list[str] = []
    rest = text
    while rest:
        room = fit(rest, limit, size)
        cut = room
        if room < len(rest):
            head = rest[:room]
            cut = _broken(head, breaks) or (fallback(head) if fallback else room)
        cut = max(cut, 1)  # a character larger than the limit still goes, alone
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in pieces if piece.strip()]


def fit(text: str, limit: int, size: Callable[[str], int] | None = None) -> int:
    """How many of ``text``'s first characters fit in ``limit``, each counted by ``size``."""
    if size is None:
        return min(limit, len(text))
    count, used = 0, 0
    for char in text:
        used += size(char)
        if used > limit:
            break
        count += 1
    return count


def _broken(head: str, breaks: Sequence[Break]) -> int:
    """The length of ``head`` up to its best break, 0 when it has none."""
    for marks, floor in breaks:
        ends = [at + len(mark) for mark in marks if (at := head.rfind(mark)) >= floor]
        if ends:
            return max(ends)
    return 0
