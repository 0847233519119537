"""An accepted answer to a question, as the gateway hands it back to the adapter.

The gateway alone knows whether an ``/approve`` or ``/reject`` was accepted (an owner, an
open question) and who the member is. When it was, its immediate answer is an
``Answered``: an ``Outgoing`` like any other, so every adapter can send its text, which
also names the question, the verdict and the member. An adapter that received the answer
from a button press, and whose platform can edit messages, marks the question's message
with ``line`` (in the member's language) and takes its buttons away, so the chat shows
what was decided and the question cannot be answered twice. Adapters that cannot edit
(WhatsApp) just send it.
"""

from __future__ import annotations

from channels.wording import Worded, wording

__all__ = ["Answered"]


class Answered(Worded):
    """The gateway's answer to an accepted approval or rejection."""

    question_id: str
    approved: bool
    by: str  # the member's name, as company.yaml gives it
    topic: str = "approval"

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
