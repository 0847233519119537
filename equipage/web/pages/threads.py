"""Threads: the viewer's conversations with a search, and one conversation's timeline, live."""

from __future__ import annotations

from typing import Any

from equipage.approvals import Approvals
from equipage.events import EventType
from equipage.web.context import console_of, render, templates, viewer_of
from equipage.web.feed import clock, follow, newest, row, threadbook_of
from equipage.web.guard import plain
from equipage.web.i18n import words
from equipage.web.live import Draft
from equipage.web.pages import Page
from equipage.web.threadbook import root_of

__all__ = ["WORDS", "pages"]

WORDS = {
    "fr": {
        "nav_threads": "Fils",
        "threads_title": "Fils de discussion",
        "search": "Rechercher",
        "search_hint": "un mot, un fil",
        "no_threads": "Aucun fil pour l'instant.",
        "thread_of": "de",
        "crew_own": "l'équipage",
        "timeline": "Déroulé",
        "activity": "Activité",
        "step_user": "message",
        "step_assistant": "réponse",
        "step_call": "appel d'outil",
        "step_result": "résultat",
        "delegation": "délégation",
        "workflow_run": "exécution de workflow",
        "questions_here": "Questions",
        "waiting_answer": "en attente de réponse",
        "answered_by": "répondue par",
        "approved_word": "approuvée",
        "rejected_word": "refusée",
        "no_steps": "Rien d'enregistré pour ce fil.",
        "being_written": "en cours d'écriture…",
    },
    "en": {
        "nav_threads": "Threads",
        "threads_title": "Threads",
        "search": "Search",
        "search_hint": "a word, a thread",
        "no_threads": "No thread yet.",
        "thread_of": "of",
        "crew_own": "the crew",
        "timeline": "Timeline",
        "activity": "Activity",
        "step_user": "message",
        "step_assistant": "answer",
        "step_call": "tool call",
        "step_result": "result",
        "delegation": "delegation",
        "workflow_run": "workflow run",
        "questions_here": "Questions",
        "waiting_answer": "waiting for an answer",
        "answered_by": "answered by",
        "approved_word": "approved",
        "rejected_word": "rejected",
        "no_steps": "Nothing recorded for this thread.",
        "being_written": "being written…",
    },
}


async def threads(request: Any) -> Any:
    viewer = viewer_of(request)
    search = request.query_params.get("q", "")[:200]
    found = await threadbook_of(request).conversations(viewer, search=search)
    return await render(request, "threads.html", conversations=found, search=search)


async def thread(request: Any) -> Any:
    viewer = viewer_of(request)
    root = root_of(request.path_params["root"])
    book = threadbook_of(request)
    if not await book.visible(viewer, root):
        return plain(request, viewer.language, "forbidden_title", "forbidden", 403)
    console = console_of(request)
    steps = await book.timeline(root)
    events = await book.events(root)
    open_questions = [
        a for a in await Approvals(console.redis, console.keys).all() if root_of(a.thread) == root
    ]
    answers = [
        _answer(event)
        for _, event in events
        if event.kind == "answer" and event.type == EventType.PUBLISHED
    ]
    sections: list[tuple[str, str, list[Any]]] = []
    for step in steps:
        if not sections or sections[-1][:2] != (step.role, step.thread):
            sections.append((step.role, step.thread, []))
        sections[-1][2].append(step)
    return await render(
        request,
        "thread.html",
        root=root,
        sections=sections,
        rows=[row(viewer, entry_id, event, link=False) for entry_id, event in events],
        open_questions=open_questions,
        answers=answers,
        clock=clock,
        after=await newest(request),
    )


def _answer(event: Any) -> dict[str, Any]:
    """An answer's event (``entries.event_of``: "approved <id> <note>") as the page shows it."""
    verdict, _, rest = event.detail.partition(" ")
    question, _, note = rest.partition(" ")
    by = event.sender.removeprefix("member:")
    return {
        "approved": verdict == "approved",
        "id": question,
        "note": note,
        "by": by,
        "at": event.at,
    }


async def live(request: Any) -> Any:
    """One conversation's events as they happen, and the reply being written in it."""
    viewer = viewer_of(request)
    root = root_of(request.path_params["root"])
    book = threadbook_of(request)
    if not await book.visible(viewer, root):
        return plain(request, viewer.language, "forbidden_title", "forbidden", 403)
    page = templates().get_template("_draft.html")

    async def drafted(draft: Draft) -> str | None:
        if draft.root != root or not await book.visible(viewer, root):
            return None
        # Autoescaped: the model's text is shown as text, never as HTML.
        return str(page.render(t=words(viewer.language), draft=draft))

    return await follow(request, viewer, root, drafted)


pages = [
    Page("/threads", "threads", threads, nav_label_key="nav_threads"),
    Page("/threads/{root:path}", "thread", thread),
    Page("/live/threads/{root:path}", "thread_live", live),
]
