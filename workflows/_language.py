"""The language a workflow writes its report in.

The input's ``language`` when it is ``fr`` or ``en``; else the language the founder wrote in,
which the gateway read off their message and which travels on the thread's ``Origin``
through every delegation; else the first of ``company.profile.languages`` (a scheduled run
has no message); else English. Reports exist in French and English only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from equipage.config import Profile
from equipage.envelope import Origin

__all__ = ["LANGUAGE_HELP", "Asked", "Said", "language_field", "number", "report_language"]

Asked = Literal["auto", "fr", "en"]
Said = Literal["fr", "en"]

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
    if asked == "fr":
        return "fr"
    if asked == "en":
        return "en"
    if origin is not None and origin.language in ("fr", "en"):
        return "fr" if origin.language == "fr" else "en"
    return "fr" if profile is not None and profile.language == "fr" else "en"


def number(value: float, spec: str, language: str = "en") -> str:
    """``format(value, spec)`` the reader's way: in French, thousands grouped with a
    no-break space and a decimal comma (a comma there would read as decimals)."""
    text = format(value, spec)
    return text.replace(",", "\u00a0").replace(".", ",") if language == "fr" else text
