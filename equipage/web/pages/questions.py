"""Questions: the open ones, oldest first; approve or reject them from the browser.

An answer takes the chat's own path: the console hands ``/approve <id>`` (or ``/reject``)
to the gateway as the member's local message, so who may answer, the envelope that resumes
the thread and the audit are exactly those of a chat answer. Once accepted, the chat where
the question was asked is told who decided, as the mark a chat button leaves ("✓ Approved
by Camille"), so nobody answers it twice.
"""

from __future__ import annotations

from typing import Any

from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import LOCAL_CHANNELS, Incoming
from equipage.envelope import BUS_SENDER, Envelope, Kind
from equipage.web.context import Console, console_of, render, viewer_of
from equipage.web.feed import clock
from equipage.web.pages import Page

__all__ = ["WORDS", "answer_as", "pages"]

WORDS = {
    "fr": {
        "nav_questions": "Questions",
        "questions_title": "Questions en attente",
        "no_questions": "Aucune question en attente.",
        "asked_by_role": "posée par",
        "in_thread": "dans le fil",
        "approve": "Approuver",
        "reject": "Refuser",
        "note": "Note (facultative)",
        "answered_ok": "Réponse prise en compte : le fil reprend.",
        "cannot_answer": "Cette console ne peut pas répondre ici : répondez dans le chat.",
    },
    "en": {
        "nav_questions": "Questions",
        "questions_title": "Open questions",
        "no_questions": "No question waiting.",
        "asked_by_role": "asked by",
        "in_thread": "in thread",
        "approve": "Approve",
        "reject": "Reject",
        "note": "Note (optional)",
        "answered_ok": "Answer taken: the thread goes on.",
        "cannot_answer": "This console cannot answer here: answer in the chat.",
    },
}


async def _open(console: Console, member: str, owner: bool) -> list[Approval]:
    return await Approvals(console.redis, console.keys).all(of_member=None if owner else member)


async def questions(request: Any, *, said: str = "", status: int = 200) -> Any:
    console = console_of(request)
    viewer = viewer_of(request)
    found = await _open(console, viewer.member, viewer.owner)
    done = request.query_params.get("done") == "1"
    return await render(
        request,
        "questions.html",
        status_code=status,
        questions=found,
        clock=clock,
        said=said,
        done=done,
    )


async def answer_as(request: Any, member_id: str, verb: str, question: str, note: str) -> Any:
    """Hand the member's answer to the gateway as a chat answer; its first reply, or None
    when this console has no gateway."""
    receive = request.state.answer  # the viewer's crew's gateway (the guard put it there)
    if receive is None:
        return None
    console = console_of(request)
    member = next(m for m in console.config.members if m.id == member_id)
    # The identity the gateway knows a local person by, as `equipage up`'s terminal does.
    user = member.identities.get("console") or member.id
    text = " ".join(part for part in (f"/{verb}", question, " ".join(note.split())) if part)
    replies = await receive(Incoming(channel="cli", chat=user, user=user, text=text))
    return replies[0] if replies else None


async def answer(request: Any) -> Any:
    console = console_of(request)
    viewer = viewer_of(request)
    verb = request.path_params["verb"]
    if verb not in ("approve", "reject"):
        return await questions(request, said="cannot_answer", status=404)
    question = request.path_params["id"].strip().lower()
    form = await request.form()
    note = str(form.get("note") or "")[:2000]
    asked = await Approvals(console.redis, console.keys).get(question)
    reply = await answer_as(request, viewer.member, verb, question, note)
    if reply is None:
        return await questions(request, said="cannot_answer", status=503)
    if getattr(reply, "question_id", None) is None:
        # Refused by the gateway's own rule (not the owner, no such open question): its words.
        return await questions(request, said=str(reply.text), status=403)
    if asked is not None and asked.origin is not None:
        await _tell_chat(console, asked, str(getattr(reply, "line", "") or reply.text))
    from starlette.responses import RedirectResponse

    return RedirectResponse("/questions?done=1", status_code=303)


async def _tell_chat(console: Console, asked: Approval, line: str) -> None:
    """Say in the question's chat who decided, as a button press there marks it."""
    origin = asked.origin
    if origin is None or origin.channel in LOCAL_CHANNELS or not line:
        return
    signal = None
    if console.farm is not None:  # the farm's gateway hears of it through a wake-up
        from equipage.farm.wake import Waker

        signal = Waker(console.redis, console.farm.namespace, console.farm.shards)
    await Bus(console.redis, console.keys, signal=signal).publish(
        Envelope(
            kind=Kind.REPLY,
            company=console.keys.company,
            to="human",
            sender=BUS_SENDER,
            thread=asked.thread,
            text=f"{line} ({asked.id})",
            origin=origin,
        )
    )


pages = [
    Page("/questions", "questions", questions, nav_label_key="nav_questions"),
    Page("/questions/{id}/{verb:str}", "answer", answer, methods=("POST",)),
]
