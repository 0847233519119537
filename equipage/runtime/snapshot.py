"""What a thread's checkpoint says: a run stopped short, the questions a pause asks."""

from __future__ import annotations

from langgraph.types import StateSnapshot

from equipage.approvals import Asked
from equipage.envelope import Envelope, Question


def besides(waiting: tuple[str, ...], envelope: Envelope) -> tuple[str, ...]:
    """The questions a thread waits on, besides the one ``envelope`` answers."""
    answered = envelope.answer.question_id if envelope.answer else None
    return tuple(q for q in waiting if q != answered)


def stopped_short(snapshot: StateSnapshot) -> bool:
    """True unless the run reached its end: a step left to run, or one whose writes were
    stored but not yet folded into a checkpoint (LangGraph then shows no ``next``: the
    state looks finished while the steps after that one never ran)."""
    return bool(snapshot.next or snapshot.tasks)


def unfinished(snapshot: StateSnapshot, envelope: Envelope) -> bool:
    """True when the run ``envelope`` started stopped short, not on a question of its own.

    The pause an answer resumed still shows when the resumed step failed; its answer is
    stored, so the run goes on from there rather than asking again.
    """
    asked = {q.id for pause in snapshot.interrupts for q in asked_questions(pause.value)}
    return not asked or (envelope.answer is not None and envelope.answer.question_id in asked)


def asked_questions(value: object) -> tuple[Question, ...]:
    """The questions a pause asks: one, or every question of a turn (``Asked``)."""
    if isinstance(value, Asked):
        return value.questions
    if isinstance(value, dict) and "questions" in value:
        return Asked.model_validate(value).questions
    return (Question.model_validate(value),)
