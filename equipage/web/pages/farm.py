"""The farm page: every crew's state, queue, spend and quotas; pause or resume one.

Only when the console is served by a farm, and only to its admins (a crew's owner is
not a farm admin by being one). Pause and resume are the registry's moves, the same as
``equipage crew pause``/``resume``.
"""

from __future__ import annotations

from typing import Any

from equipage.errors import CrewRefused
from equipage.language import number
from equipage.llm.pricing import CURRENCY
from equipage.web.context import FarmView, console_of, render, viewer_of
from equipage.web.farmrows import pause_crew, read_farm, resume_crew
from equipage.web.pages import Page

__all__ = ["WORDS", "pages"]

WORDS = {
    "fr": {
        "nav_farm": "Ferme",
        "farm_title": "Les équipages de la ferme",
        "farm_crew": "Équipage",
        "farm_state": "État",
        "farm_owner": "Propriétaire",
        "farm_template": "Modèle",
        "farm_queued": "En attente",
        "farm_questions": "Questions",
        "farm_spent": "Dépense du mois",
        "farm_quotas": "Quotas",
        "farm_runs": "exécutions simultanées",
        "farm_per_minute": "messages par minute",
        "farm_files": "fichiers (Mo)",
        "farm_memory": "mémoire (Ko)",
        "farm_pause": "Mettre en pause",
        "farm_resume": "Reprendre",
        "farm_none": "La ferme n'a encore aucun équipage.",
        "farm_paused": "L'équipage {crew} est en pause.",
        "farm_resumed": "L'équipage {crew} reprend le travail.",
        "farm_refused": (
            "Impossible pour {crew} : il est déjà dans cet état, en suppression, ou n'existe pas."
        ),
        "state_active": "actif",
        "state_paused": "en pause",
        "state_deleting": "en suppression",
    },
    "en": {
        "nav_farm": "Farm",
        "farm_title": "The farm's crews",
        "farm_crew": "Crew",
        "farm_state": "State",
        "farm_owner": "Owner",
        "farm_template": "Template",
        "farm_queued": "Queued",
        "farm_questions": "Questions",
        "farm_spent": "Spent this month",
        "farm_quotas": "Quotas",
        "farm_runs": "runs at once",
        "farm_per_minute": "messages per minute",
        "farm_files": "files (MB)",
        "farm_memory": "memory (KB)",
        "farm_pause": "Pause",
        "farm_resume": "Resume",
        "farm_none": "The farm has no crew yet.",
        "farm_paused": "Crew {crew} is paused.",
        "farm_resumed": "Crew {crew} is working again.",
        "farm_refused": "Not possible for {crew}: it is already so, being deleted, or unknown.",
        "state_active": "active",
        "state_paused": "paused",
        "state_deleting": "being deleted",
    },
}


def _farm(request: Any) -> FarmView | None:
    """The farm, when the console has one and the viewer is one of its admins."""
    farm = console_of(request).farm
    if farm is None or viewer_of(request).member not in farm.admins:
        return None
    return farm


async def _show(request: Any, farm: FarmView, note: str = "", status_code: int = 200) -> Any:
    language = viewer_of(request).language
    rows = await read_farm(farm.redis, farm.namespace, farm.folder)
    return await render(
        request,
        "farm.html",
        status_code=status_code,
        rows=rows,
        note=note,
        moved=status_code == 200,
        currency=CURRENCY,
        num=lambda value, spec: number(value, spec, language),
    )


def _refused(request: Any) -> Any:
    from equipage.web.guard import plain  # guard imports the pages: not at module level

    return plain(request, viewer_of(request).language, "forbidden_title", "forbidden", 403)


async def farm_page(request: Any) -> Any:
    farm = _farm(request)
    if farm is None:
        return _refused(request)
    return await _show(request, farm)


async def _move(request: Any, resume: bool) -> Any:
    farm = _farm(request)
    if farm is None:
        return _refused(request)
    from equipage.web.i18n import words

    said = words(viewer_of(request).language)
    form = await request.form()
    crew = str(form.get("crew", ""))
    try:
        if resume:
            await resume_crew(farm.redis, farm.namespace, crew)
        else:
            await pause_crew(farm.redis, farm.namespace, crew)
    except CrewRefused:
        return await _show(request, farm, said["farm_refused"].format(crew=crew), 409)
    done = said["farm_resumed" if resume else "farm_paused"].format(crew=crew)
    return await _show(request, farm, done)


async def pause(request: Any) -> Any:
    return await _move(request, resume=False)


async def resume(request: Any) -> Any:
    return await _move(request, resume=True)


# In the navigation of the farm's admins only (``admin_only``); the page checks for itself.
pages = [
    Page("/farm", "farm", farm_page, nav_label_key="nav_farm", admin_only=True),
    Page("/farm/pause", "farm_pause", pause, methods=("POST",)),
    Page("/farm/resume", "farm_resume", resume, methods=("POST",)),
]
