"""Outgoing to Bot API calls: plain-text pieces, approval buttons, answered questions marked.

``send`` cuts a reply into messages of at most 4096 units (``telegram_text``) and puts
the approval keyboard under the last one; a flood wait (429 ``retry_after``) is waited
out as ``channels.delivery`` retries: a few times when short, otherwise left to the
gateway's retry. ``mark`` takes the buttons off a question whose answer the gateway
accepted and says who decided (``channels.answered``); ``unbutton`` does it to any question
sent, answered elsewhere (``channels.asked``). ``draft`` shows a reply while it is
written by editing one message, and ``settle`` turns that message into the whole reply
(``channels.streaming``); ``sendMessageDraft`` is not used: its preview is ephemeral.
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

__all__ = ["Api", "draft", "mark", "retry_seconds", "send", "settle", "unbutton"]

# The channel's one logger, as before its modules were split: its level still covers all.
log = logging.getLogger("channels.telegram")

#: The adapter's initialized Bot, on demand.
Api: TypeAlias = Callable[[], Awaitable["Bot"]]


async def send(api: Api, message: Outgoing) -> tuple[str, str] | None:
    """Send as plain text in pieces of at most 4096; a question gets its buttons.

    Returns the id and the text of the last message sent (a question's buttons are there).
    """
    pieces = split(message.text) or ([message.question.text or "?"] if message.question else [])
    sent: tuple[str, str] | None = None
    for number, piece in enumerate(pieces, start=1):
        last = number == len(pieces)
        markup = _keyboard(message) if last and message.question else None
        sent = (await _send_piece(api, message, piece, markup), piece)
    return sent


async def draft(api: Api, message: Outgoing, ref: str | None) -> str:
    """Show a reply so far: its first message's worth, sent anew or edited into ``ref``."""
    pieces = split(message.text)
    text = pieces[0] if pieces else "…"
    if len(pieces) > 1:  # the rest shows once the reply is whole
        text = with_line(text, "…")
    if ref is None:
        return await _send_piece(api, message, text, None)
    await _edit(api, message.chat, ref, text)
    return ref


async def settle(api: Api, message: Outgoing, ref: str) -> None:
    """Edit the draft ``ref`` into the reply's first piece; the others follow as messages."""
    from telegram.error import BadRequest

    pieces = split(message.text) or ["…"]
    try:
        await _edit(api, message.chat, ref, pieces[0])
    except BadRequest as err:
        if "not found" not in str(err).lower():
            raise
        pieces.insert(0, "")  # the draft is gone (deleted by the person): all of it anew
    for piece in pieces[1:]:
        await _send_piece(api, message, piece, None)


async def _edit(api: Api, chat: str, ref: str, text: str) -> None:
    from telegram.error import BadRequest

    bot = await api()

    async def once(_attempt: int) -> None:
        try:
            await bot.edit_message_text(text, chat, int(ref))
        except BadRequest as err:
            # The same text again (a retried delivery): it already shows what it must.
            if "not modified" not in str(err).lower():
                raise

    await retried(once, _later, waiting=_waiting)


async def _send_piece(
    api: Api, message: Outgoing, text: str, markup: InlineKeyboardMarkup | None
) -> str:
    bot = await api()
    thread = int(message.thread) if message.thread else None

    async def once(_attempt: int) -> str:
        sent = await bot.send_message(
            message.chat, text, reply_markup=markup, message_thread_id=thread
        )
        return str(sent.message_id)

    return await retried(once, _later, waiting=_waiting)


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
        await unbutton(api, pressed.chat, pressed.message_id, pressed.text, done.line)

    question = pressed.question if pressed else None
    await answered.mark(answer, question, edit, channel="telegram", log=log, refused=TelegramError)


async def unbutton(api: Api, chat: str, message_id: int, text: str, line: str) -> None:
    """Take a question's keyboard off, then put ``line`` under its ``text`` (when known)."""
    bot = await api()
    # First, and alone if the text cannot be had: no second press is possible.
    await bot.edit_message_reply_markup(chat, message_id)
    if text:
        await bot.edit_message_text(with_line(text, line), chat, message_id)


def retry_seconds(err: RetryAfter) -> float:
    """How long Telegram's flood control asks to wait, in seconds."""
    # PTB 22 warns on reading retry_after as an int; the value is the same either way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
