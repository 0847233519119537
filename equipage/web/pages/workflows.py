"""The workflows page: runs, their status and the files they wrote, to download.

A member sees the runs they asked for; the owner sees every run. A download serves a
file under the crew's files folder only (``runs.inside``: no ``..``, no absolute path, no
link that leads out), and to a member only a file one of their own runs wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from equipage.web.context import Console, console_of, render, viewer_of
from equipage.web.pages import Page
from equipage.web.runs import content_type, inside, read_runs

__all__ = ["PER_PAGE", "WORDS", "crew_files", "pages"]

PER_PAGE = 30
_DOWNLOAD = "/workflows/download"

WORDS = {
    "fr": {
        "nav_workflows": "Workflows",
        "workflows_title": "Exécutions des workflows",
        "workflows_mine": "Les exécutions que vous avez demandées.",
        "workflows_all": "Toutes les exécutions de l'équipage.",
        "workflows_filter": "Workflow",
        "workflows_every": "tous",
        "workflows_show": "Afficher",
        "workflows_run": "Exécution",
        "workflows_status": "État",
        "workflows_updated": "Mise à jour",
        "workflows_by": "Demandée par",
        "workflows_files": "Fichiers",
        "workflows_no_file": "aucun fichier",
        "workflows_bytes": "octets",
        "workflows_nobody": "planifiée ou lancée par le propriétaire",
        "workflows_none": "Aucune exécution de workflow pour l'instant.",
        "workflows_newer": "← Plus récentes",
        "workflows_older": "Plus anciennes →",
        "status_done": "terminée",
        "status_waiting": "attend une réponse",
        "status_failed": "échouée",
        "status_running": "en cours",
    },
    "en": {
        "nav_workflows": "Workflows",
        "workflows_title": "Workflow runs",
        "workflows_mine": "The runs you asked for.",
        "workflows_all": "Every run of the crew.",
        "workflows_filter": "Workflow",
        "workflows_every": "all",
        "workflows_show": "Show",
        "workflows_run": "Run",
        "workflows_status": "Status",
        "workflows_updated": "Updated",
        "workflows_by": "Asked by",
        "workflows_files": "Files",
        "workflows_no_file": "no file",
        "workflows_bytes": "bytes",
        "workflows_nobody": "scheduled or started by the owner",
        "workflows_none": "No workflow run yet.",
        "workflows_newer": "← Newer",
        "workflows_older": "Older →",
        "status_done": "done",
        "status_waiting": "waiting for an answer",
        "status_failed": "failed",
        "status_running": "running",
    },
}


def crew_files(console: Console) -> Path:
    """The crew's files folder, where its workflows write (as ``equipage.crew`` sets it)."""
    if console.farm is not None:
        return console.farm.folder / "crews" / console.keys.company
    return console.home / "files" / console.keys.company


def _page_number(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


async def workflows(request: Any) -> Any:
    console, viewer = console_of(request), viewer_of(request)
    chosen = request.query_params.get("workflow", "")
    chosen = chosen if chosen in console.config.workflows else ""
    number = _page_number(request.query_params.get("page"))
    runs = await read_runs(
        console.redis,
        console.keys,
        crew_files(console),
        member=None if viewer.owner else viewer.member,
        workflow=chosen or None,
        limit=PER_PAGE + 1,  # one more tells whether there is an older page
        offset=number * PER_PAGE,
    )

    def link(page: int) -> str:
        query = {"page": page, **({"workflow": chosen} if chosen else {})}
        return f"/workflows?{urlencode(query)}"

    return await render(
        request,
        "workflows.html",
        runs=runs[:PER_PAGE],
        names=sorted(console.config.workflows),
        chosen=chosen,
        newer=link(number - 1) if number else None,
        older=link(number + 1) if len(runs) > PER_PAGE else None,
        download=lambda path: f"{_DOWNLOAD}?{urlencode({'path': path})}",
    )


async def download(request: Any) -> Any:
    from starlette.responses import FileResponse

    from equipage.web.guard import plain  # guard imports the pages: not at module level

    console, viewer = console_of(request), viewer_of(request)
    root = crew_files(console)
    given = request.query_params.get("path", "")
    path = inside(root, given) if given and not Path(given).is_absolute() else None
    if path is not None and not viewer.owner:
        # A member may take what their own runs wrote, nothing else of the crew's.
        theirs = await read_runs(console.redis, console.keys, root, member=viewer.member, limit=500)
        allowed = {f.path for run in theirs for f in run.files}
        if path.relative_to(root.resolve()).as_posix() not in allowed:
            path = None
    if path is None:
        return plain(request, viewer.language, "not_found_title", "not_found", 404)
    return FileResponse(
        path,
        media_type=content_type(path),
        filename=path.name,
        content_disposition_type="attachment",
    )


pages = [
    Page("/workflows", "workflows", workflows, nav_label_key="nav_workflows"),
    Page(_DOWNLOAD, "workflow_download", download),
]
