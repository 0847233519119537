"""The language a workflow writes its report in: the one its input asks, else the company's.

The request that starts a workflow carries no text (a ``WorkflowCall`` is a name and an
input), so the founder's own words cannot be read here. The rule is therefore explicit:
the input's ``language`` when it is ``fr`` or ``en`` (an agent that knows the conversation
passes it), else the first of ``company.profile.languages``, else English. Reports exist
in French and English only; any other company language gets English.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from equipage.config import Profile

__all__ = ["LANGUAGE_HELP", "Asked", "Said", "language_field", "report_language"]

Asked = Literal["auto", "fr", "en"]
Said = Literal["fr", "en"]

LANGUAGE_HELP = (
    "language of the report for the founder: 'fr' or 'en'; 'auto' (default) uses the "
    "company's first language (company.profile.languages), English when it is neither"
)


def language_field() -> Any:
    """The ``language`` field every workflow input with a founder's report declares."""
    return Field("auto", description=LANGUAGE_HELP)


def report_language(asked: str, profile: Profile | None) -> Said:
    """``fr`` or ``en``: the input's explicit choice, else the company's first language."""
    if asked == "fr":
        return "fr"
    if asked == "en":
        return "en"
    return "fr" if profile is not None and profile.language == "fr" else "en"
