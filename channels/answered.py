"""An accepted answer to a question, as the gateway hands it back to the adapter.

The gateway alone knows whether an ``/approve`` or ``/reject`` was accepted (an owner, an
open question) and who the member is. When it was, its immediate answer is an
``Answered``: an ``Outgoing`` like any other, so every adapter can send its text, which
also names the question, the verdict and the member. An adapter that received the answer
from a button press, and whose platform can edit messages, marks the question's message
with ``line`` and takes its buttons away, so the chat shows what was decided and the
question cannot be answered twice. Adapters that cannot edit (WhatsApp) just send it.
"""

from __future__ import annotations

from equipage.chat import Outgoing

__all__ = ["Answered"]

# What the two buttons say per question topic, in the past tense (cf. the adapters' labels).
_VERDICTS = {"budget": ("Resumed", "Stopped")}


class Answered(Outgoing):
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
        """The line that marks the question answered: "✓ Approved by Camille"."""
        yes, no = _VERDICTS.get(self.topic, ("Approved", "Rejected"))
        return f"✓ {yes} by {self.by}" if self.approved else f"✗ {no} by {self.by}"
