"""The audit page (owner only): entries by actor, kind and time, and the chain's check.

"Verify" runs ``verify_company``, the check of ``equipage audit verify``, and shows each
break with its position in the stream; what each kind of break means is said in the
viewer's language (the check's own sentences are English, shown to English readers).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from equipage.web.auditlog import AuditPage, Checked, check_chain, read_audit
from equipage.web.context import console_of, render
from equipage.web.pages import Page

__all__ = ["PER_PAGE", "WORDS", "pages"]

PER_PAGE = 50

_BREAKS_FR = {
    "hmac": "la signature ne correspond pas : entrée modifiée, forgée ou signée avec une autre clé",
    "link": "l'entrée n'est pas chaînée à la précédente",
    "missing": "des entrées ont été supprimées à cet endroit",
    "order": "une entrée a été copiée ou déplacée",
    "unsigned": "une entrée non signée là où les entrées sont signées",
    "malformed": "entrée illisible ou incomplète",
    "truncated": "les entrées les plus récentes vues par une ancre ont disparu",
    "stream_missing": "tout le journal a disparu alors qu'une ancre dit qu'il existait",
    "anchor_mismatch": "l'entrée enregistrée par une ancre a été remplacée",
    "marker_without_entry": "un marqueur d'événement écrit hors d'Equipage",
    "marker_missing": "le marqueur d'événement d'une entrée a été supprimé",
}
_BREAKS_EN = {
    "hmac": "the signature does not match: edited, forged or signed with another key",
    "link": "the entry does not chain to the one before it",
    "missing": "entries were deleted here",
    "order": "an entry was copied or moved",
    "unsigned": "an unsigned entry where entries are signed",
    "malformed": "an unreadable or incomplete entry",
    "truncated": "the newest entries an anchor saw are gone",
    "stream_missing": "the whole log is gone, though an anchor says it existed",
    "anchor_mismatch": "the entry an anchor recorded was replaced",
    "marker_without_entry": "an event marker written outside Equipage",
    "marker_missing": "an entry's event marker was deleted",
}

WORDS = {
    "fr": {
        "nav_audit": "Audit",
        "audit_title": "Journal d'audit",
        "audit_actor": "Acteur",
        "audit_kind": "Type",
        "audit_since": "Depuis le",
        "audit_until": "Jusqu'au",
        "audit_filter": "Filtrer",
        "audit_when": "Quand",
        "audit_number": "N°",
        "audit_thread": "Fil",
        "audit_detail": "Détail",
        "audit_none": "Aucune entrée pour ces filtres.",
        "audit_older": "Plus anciennes →",
        "audit_first": "← Les plus récentes",
        "audit_verify": "Vérifier la chaîne",
        "audit_verify_help": (
            "Vérifie chaque signature, chaque lien et les ancres gardées hors de Redis."
        ),
        "audit_whole": "La chaîne est intacte",
        "audit_broken": "La chaîne est rompue",
        "audit_checked": "entrées vérifiées",
        "audit_unsigned": "entrées antérieures à la signature",
        "audit_no_anchor": (
            "Pas encore d'ancre : une suppression des dernières entrées ne se verrait pas."
        ),
        "audit_break_at": "Position",
        "audit_colon": " : ",
        "audit_entry": "entrée",
        "audit_more": "autres ruptures non listées",
        "audit_no_key": (
            "Impossible de vérifier : la clé d'audit n'est pas sur cette machine "
            "(fichier audit.key du dossier de l'équipage, ou EQUIPAGE_AUDIT_KEY)."
        ),
        **{f"audit_break_{kind}": text for kind, text in _BREAKS_FR.items()},
    },
    "en": {
        "nav_audit": "Audit",
        "audit_title": "Audit log",
        "audit_actor": "Actor",
        "audit_kind": "Kind",
        "audit_since": "From",
        "audit_until": "Until",
        "audit_filter": "Filter",
        "audit_when": "When",
        "audit_number": "No.",
        "audit_thread": "Thread",
        "audit_detail": "Detail",
        "audit_none": "No entry for these filters.",
        "audit_older": "Older →",
        "audit_first": "← Newest",
        "audit_verify": "Verify the chain",
        "audit_verify_help": (
            "Checks every signature, every link and the anchors kept outside Redis."
        ),
        "audit_whole": "The chain is whole",
        "audit_broken": "The chain is broken",
        "audit_checked": "entries checked",
        "audit_unsigned": "entries from before signing",
        "audit_no_anchor": "No anchor yet: deleting the newest entries would not show.",
        "audit_break_at": "Position",
        "audit_colon": ": ",
        "audit_entry": "entry",
        "audit_more": "more breaks not listed",
        "audit_no_key": (
            "Cannot verify: the audit key is not on this machine (the crew folder's "
            "audit.key file, or EQUIPAGE_AUDIT_KEY)."
        ),
        **{f"audit_break_{kind}": text for kind, text in _BREAKS_EN.items()},
    },
}


def _day(raw: str | None, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as a UTC moment: its start, or with ``end`` its last instant."""
    try:
        day = datetime.strptime(raw or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = datetime.combine(day, time(), UTC)
    return moment + timedelta(days=1) - timedelta(milliseconds=1) if end else moment


async def _entries(request: Any) -> tuple[AuditPage, dict[str, str]]:
    console = console_of(request)
    query = request.query_params
    filters = {name: query.get(name, "").strip() for name in ("actor", "kind", "since", "until")}
    page = await read_audit(
        console.redis,
        console.keys,
        actor=filters["actor"],
        kind=filters["kind"],
        since=_day(filters["since"]),
        until=_day(filters["until"], end=True),
        before=query.get("before") or None,
        limit=PER_PAGE,
    )
    return page, filters


async def _show(request: Any, checked: Checked | None) -> Any:
    page, filters = await _entries(request)
    kept = {name: value for name, value in filters.items() if value}
    older = f"/audit?{urlencode({**kept, 'before': page.older})}" if page.older else None
    first = f"/audit?{urlencode(kept)}" if request.query_params.get("before") else None
    report = checked.report if checked is not None else None
    broken = {item.entry_id for item in report.breaks} if report is not None else set()
    return await render(
        request,
        "audit.html",
        rows=page.rows,
        filters=filters,
        older=older,
        first=first,
        checked=checked,
        broken=broken,
    )


async def audit(request: Any) -> Any:
    return await _show(request, None)


async def verify(request: Any) -> Any:
    console = console_of(request)
    # The crew's EQUIPAGE_AUDIT_KEY when its console was given one; else <home>/audit.key.
    configured = getattr(console, "audit_key", None)
    checked = await check_chain(console.redis, console.keys, console.home, configured)
    return await _show(request, checked)


pages = [
    Page("/audit", "audit", audit, owner_only=True, nav_label_key="nav_audit"),
    Page("/audit/verify", "audit_verify", verify, methods=("POST",), owner_only=True),
]
