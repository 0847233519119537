"""Outgoing to Bot API calls: plain-text pieces, approval buttons, answered questions marked.

``send`` cuts a reply into messages of at most 4096 units (``telegram_text``) and puts
the approval keyboard under the last one; a flood wait (429 ``retry_after``) is waited
out as ``channels.delivery`` retries: a few times when short, otherwise left to the
gateway's retry. ``mark`` takes the buttons off a question whose answer the gateway
accepted and says who decided (``channels.answered``).
The Bot is asked for through ``api`` on each call, as the adapter initializes it lazily.
"""

from __future__ import annotations

import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from channels import answered
from channels.answered import Answered
from channels.delivery import Later, retried
from channels.telegram_text import split, with_line
from channels.telegram_updates import Pressed
from channels.wording import words_for
from equipage.chat import Outgoing

if TYPE_CHECKING:
    from telegram import Bot, InlineKeyboardMarkup
    from telegram.error import RetryAfter

__all__ = ["Api", "mark", "retry_seconds", "send"]

# The channel's one logger, as before its modules were split: its level still covers all.
log = logging.getLogger("channels.telegram")

#: The adapter's initialized Bot, on demand.
Api: TypeAlias = Callable[[], Awaitable["Bot"]]


async def send(api: Api, message: Outgoing) -> None:
    """Send as plain text in pieces of at most 4096; a question gets its buttons."""
    pieces = split(message.text) or ([message.question.text or "?"] if message.question else [])
    for number, piece in enumerate(pieces, start=1):
        last = number == len(pieces)
        markup = _keyboard(message) if last and message.question else None
        await _send_piece(api, message, piece, markup)


async def _send_piece(
    api: Api, message: Outgoing, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    bot = await api()
    thread = int(message.thread) if message.thread else None

    async def once(_attempt: int) -> None:
        await bot.send_message(message.chat, text, reply_markup=markup, message_thread_id=thread)

    await retried(once, _later, waiting=_waiting)


def _later(err: Exception) -> Later | None:
    """Telegram's flood control (429), with the wait it asks for."""
    from telegram.error import RetryAfter

    return Later(retry_seconds(err)) if isinstance(err, RetryAfter) else None


def _waiting(wait: float) -> None:
    log.info("telegram flood control: waiting %.0fs", wait)


def _keyboard(message: Outgoing) -> InlineKeyboardMarkup:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    assert message.question is not None
    yes, no = words_for(message).labels(message.question.topic)
    qid = message.question.id
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=f"approve:{qid}"),
                InlineKeyboardButton(no, callback_data=f"reject:{qid}"),
            ]
        ]
    )


async def mark(api: Api, pressed: Pressed | None, answer: Outgoing) -> None:
    """When ``answer`` accepted the pressed question, take its buttons off and say who decided."""
    from telegram.error import TelegramError

    async def edit(done: Answered) -> None:
        assert pressed is not None  # checked by answered.mark
        bot = await api()
        # First, and alone if the text cannot be had: no second press is possible.
        await bot.edit_message_reply_markup(pressed.chat, pressed.message_id)
        if pressed.text:
            text = with_line(pressed.text, done.line)
            await bot.edit_message_text(text, pressed.chat, pressed.message_id)

    question = pressed.question if pressed else None
    await answered.mark(answer, question, edit, channel="telegram", log=log, refused=TelegramError)


def retry_seconds(err: RetryAfter) -> float:
    """How long Telegram's flood control asks to wait, in seconds."""
    # PTB 22 warns on reading retry_after as an int; the value is the same either way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
