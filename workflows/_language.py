"""The language a workflow writes its report in.

The input's ``language`` when it is ``fr`` or ``en``; else the language the founder wrote in,
which the gateway read off their message and which travels on the thread's ``Origin``
through every delegation; else the first of ``company.profile.languages`` (a scheduled run
has no message); else English. Reports exist in French and English only
(``equipage.language``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from equipage.config import Profile
from equipage.envelope import Origin
from equipage.language import Language, choose, number

__all__ = ["LANGUAGE_HELP", "Asked", "Said", "language_field", "number", "report_language"]

Asked = Literal["auto", "fr", "en"]
Said = Language

LANGUAGE_HELP = (
    "language of the report for the founder: 'fr' or 'en'; 'auto' (default) follows the "
    "language the founder wrote in, else the company's first language "
    "(company.profile.languages), English when it is neither"
)


def language_field() -> Any:
    """The ``language`` field every workflow input with a founder's report declares."""
    return Field("auto", description=LANGUAGE_HELP)


def report_language(asked: str, profile: Profile | None, origin: Origin | None = None) -> Said:
    """``fr`` or ``en``: the input's choice, the founder's, else the company's first language."""
    told = origin.language if origin is not None else None
    return choose(asked, told, profile.language if profile is not None else None)
