"""The costs page (owner only): the last 30 days by role, model, workflow and day."""

from __future__ import annotations

from functools import partial
from typing import Any

from equipage.costbook import read_costbook
from equipage.language import number
from equipage.llm.pricing import CURRENCY
from equipage.web.chart import bars
from equipage.web.context import console_of, render, viewer_of
from equipage.web.i18n import words
from equipage.web.pages import Page

__all__ = ["DAYS", "WORDS", "pages"]

#: Days the page covers, today included.
DAYS = 30

WORDS = {
    "fr": {
        "nav_costs": "Coûts",
        "costs_title": "Coûts des 30 derniers jours",
        "costs_total": "Total",
        "costs_colon": "\u00a0: ",
        "costs_calls": "Appels",
        "costs_cost": "Coût",
        "costs_cached_share": "Part des jetons d'entrée lus en cache",
        "costs_cached_help": (
            "Lecture du cache ÷ toute l'entrée (non mise en cache, lue et écrite en cache). "
            "Plus elle est haute, moins chaque appel coûte."
        ),
        "costs_no_input": "aucune entrée encore",
        "costs_by_day": "Par jour",
        "costs_chart_title": "Dépense par jour",
        "costs_by_role": "Par rôle",
        "costs_by_model": "Par modèle",
        "costs_by_workflow": "Par workflow",
        "costs_role": "Rôle",
        "costs_model": "Modèle",
        "costs_workflow": "Workflow",
        "costs_own_turns": "(tours du rôle)",
        "costs_input": "Entrée",
        "costs_output": "Sortie",
        "costs_cache_read": "Cache lu",
        "costs_cache_write": "Cache écrit",
        "costs_nothing": "Aucun appel de modèle sur ces 30 jours.",
    },
    "en": {
        "nav_costs": "Costs",
        "costs_title": "Costs of the last 30 days",
        "costs_total": "Total",
        "costs_colon": ": ",
        "costs_calls": "Calls",
        "costs_cost": "Cost",
        "costs_cached_share": "Share of input tokens read from the cache",
        "costs_cached_help": (
            "Cache reads ÷ all input (uncached, read from and written to the cache). "
            "The higher, the cheaper each call."
        ),
        "costs_no_input": "no input yet",
        "costs_by_day": "By day",
        "costs_chart_title": "Spend per day",
        "costs_by_role": "By role",
        "costs_by_model": "By model",
        "costs_by_workflow": "By workflow",
        "costs_role": "Role",
        "costs_model": "Model",
        "costs_workflow": "Workflow",
        "costs_own_turns": "(the role's own turns)",
        "costs_input": "Input",
        "costs_output": "Output",
        "costs_cache_read": "Cache read",
        "costs_cache_write": "Cache write",
        "costs_nothing": "No model call in these 30 days.",
    },
}


async def costs(request: Any) -> Any:
    console = console_of(request)
    language = viewer_of(request).language
    book = await read_costbook(console.redis, console.keys, days=DAYS)
    days = book.by_day()
    shown = partial(_number, language=language)
    chart = bars(
        [
            (day.strftime("%d/%m" if language == "fr" else "%m-%d"), spent.cost)
            for day, spent in days
        ],
        title=words(language)["costs_chart_title"],
        unit=CURRENCY,
        shown=shown,
    )
    return await render(
        request,
        "costs.html",
        total=book.total(),
        chart=chart,
        groups=[
            ("costs_by_role", "costs_role", book.by("role")),
            ("costs_by_model", "costs_model", book.by("model")),
            ("costs_by_workflow", "costs_workflow", book.by("workflow")),
        ],
        currency=CURRENCY,
        num=shown,
    )


def _number(value: float, spec: str, language: str) -> str:
    return number(value, spec, language)


pages = [Page("/costs", "costs", costs, owner_only=True, nav_label_key="nav_costs")]
