"""The building blocks of company.yaml's models: the strict base model and the checked values.

Each value type turns a mistake into a message that says what to write instead.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from equipage.roletools import KNOWN_TOOLS

__all__ = [
    "ConfigModel",
    "Country",
    "Keyword",
    "Language",
    "Name",
    "OneLine",
    "Tool",
    "UserId",
    "enabled",
    "slugify",
]

_NAME = re.compile(r"[a-z][a-z0-9_-]*")


class ConfigModel(BaseModel):
    """A section of company.yaml; a platform's ``channels.<name>`` section derives from it."""

    # extra="forbid" turns every typo in company.yaml into an error that names it.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def slugify(name: str) -> str:
    """A company id derived from its name: ``"Société Générale"`` -> ``"societe-generale"``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "-", plain.lower()).strip("-_")[:63].rstrip("-_")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} must start with a-z and use only a-z, 0-9, '-' or '_'")
    return value


def _tool(name: str) -> str:
    if name not in KNOWN_TOOLS:
        close = difflib.get_close_matches(name, KNOWN_TOOLS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown tool {name!r}; {hint}known tools: {', '.join(KNOWN_TOOLS)}")
    return name


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code(value: str, kind: str, example: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(f"{value!r} is not {kind}; write two letters, e.g. {example}")
    return value


def _user_id(value: object) -> object:
    # YAML reads `telegram: 123456` as an int; ids are text on every platform.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _norway(value: object) -> object:
    # YAML 1.1 reads an unquoted NO as false: the one country code it turns into a bool.
    return "NO" if value is False else value


def enabled(value: object) -> object:
    """``workflows: [tenders]`` is ``workflows: {tenders: {}}``; a name alone has no settings."""
    if isinstance(value, list | tuple) and all(isinstance(name, str) for name in value):
        return {name: {} for name in value}
    if isinstance(value, dict):
        return {name: {} if settings is None else settings for name, settings in value.items()}
    return value


Name = Annotated[str, AfterValidator(_name)]
Tool = Annotated[str, AfterValidator(_tool)]
Keyword = Annotated[str, AfterValidator(str.casefold), Field(min_length=1)]
UserId = Annotated[str, BeforeValidator(_user_id), Field(min_length=1)]
OneLine = Annotated[str, AfterValidator(_one_line)]
Country = Annotated[
    str,
    BeforeValidator(_norway),
    AfterValidator(lambda v: _code(v, "an ISO country code", "FR").upper()),
]
Language = Annotated[str, AfterValidator(lambda v: _code(v, "an ISO 639-1 language", "fr").lower())]
