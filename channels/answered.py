"""An accepted answer to a question, as the gateway hands it back to the adapter.

The gateway alone knows whether an ``/approve`` or ``/reject`` was accepted (an owner, an
open question) and who the member is. When it was, its immediate answer is an
``Answered``: an ``Outgoing`` like any other, so every adapter can send its text, which
also names the question, the verdict and the member. An adapter that received the answer
from a button press, and whose platform can edit messages, marks the question's message
with ``line`` (in the member's language) and takes its buttons away, so the chat shows
what was decided and the question cannot be answered twice (``mark``). Adapters that
cannot edit (WhatsApp) just send it. An answer from anywhere else (the web console, a
typed ``/approve``) is marked by the gateway where the question was sent
(``channels.asked``); such an answer is ``marked``, and a press leaves it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from channels.wording import Worded, wording
from equipage.chat import Outgoing

__all__ = ["Answered", "mark"]


class Answered(Worded):
    """The gateway's answer to an accepted approval or rejection."""

    question_id: str
    approved: bool
    by: str  # the member's name, as company.yaml gives it
    topic: str = "approval"
    marked: bool = False  # its question's message is being marked already (``channels.asked``)

    def answers(self, question_id: str) -> bool:
        """True when this is the answer to ``question_id`` (a button's data)."""
        return question_id.strip().lower() == self.question_id.lower()

    @property
    def line(self) -> str:
        """The line that marks the question answered: "✓ Approved by Camille", in ``language``.

        A question's buttons say what it decides ("Resume"/"Stop" for a budget), so does the
        line, in the past tense.
        """
        return wording(self.language).mark(self.topic, self.approved, self.by)


async def mark(
    answer: Outgoing,
    question: str | None,
    edit: Callable[[Answered], Awaitable[object]],
    *,
    channel: str,
    log: logging.Logger,
    refused: type[Exception] | tuple[type[Exception], ...] = Exception,
    reason: Callable[[Exception], object] = lambda err: err,
) -> None:
    """Mark the pressed ``question`` through ``edit`` when ``answer`` accepted it.

    Only an answer the gateway accepted marks the question: a stranger's press, or a
    press on a question already answered, leaves the message as it is. An edit the
    platform ``refused`` is logged with its ``reason`` and not raised: the answer itself
    went through (and its reply must still go), only its mark on the question is missing.
    """
    if question is None or not isinstance(answer, Answered) or not answer.answers(question):
        return
    if answer.marked:  # the gateway marks it from where it was sent: one edit, not two
        return
    try:
        await edit(answer)
    except refused as err:
        log.warning(
            "%s question %s not marked answered: %s", channel, answer.question_id, reason(err)
        )
