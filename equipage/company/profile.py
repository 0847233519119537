"""What the company is: its identity, what it sells and where, and the tenders it answers.

Every prompt reads the profile; the ``tenders`` workflow matches notices on ``tenders``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from equipage.company.fields import ConfigModel, Country, Keyword, Language, slugify
from equipage.keys import validate_company_id

__all__ = ["Company", "Profile", "TenderProfile"]


def _cpv_prefix(value: str) -> str:
    digits = value.strip().split("-")[0]
    if not (digits.isdigit() and 2 <= len(digits) <= 8):
        raise ValueError(f"{value!r} is not a CPV prefix; write 2 to 8 digits, e.g. '72' or '4800'")
    return digits


CpvPrefix = Annotated[str, AfterValidator(_cpv_prefix)]


class TenderProfile(ConfigModel):
    """What public tenders the company answers; the ``tenders`` workflow matches on it."""

    cpv: tuple[CpvPrefix, ...] = Field(
        (), description="CPV code prefixes, e.g. ['72', '48'] (IT services, software)"
    )
    keywords: tuple[Keyword, ...] = Field(
        (), description="words or phrases in any language, e.g. [cloud, hébergement]"
    )
    exclude: tuple[Keyword, ...] = Field(
        (), description="words that rule a notice out, e.g. [travaux, works]"
    )
    countries: tuple[Country, ...] = Field(
        (), description="ISO country codes; empty means company.profile.where"
    )
    min_value: float = Field(0, ge=0, description="smallest estimated value worth answering")
    horizon_days: int = Field(
        90, ge=1, description="ignore notices whose deadline is further away than this"
    )
    min_days: int = Field(
        7, ge=0, description="ignore notices whose deadline is closer than this (no time to bid)"
    )
    bundled: bool = Field(
        False,
        description="read the real notices shipped with Equipage instead of TED and BOAMP "
        "(demos, machines without network)",
    )


class Profile(ConfigModel):
    """What the company sells, where, and in which languages; every prompt reads it."""

    sells: str = Field(min_length=1, description="what the company sells, in one line")
    where: tuple[Country, ...] = Field((), description="ISO country codes, e.g. [FR, BE]")
    languages: tuple[Language, ...] = Field(
        ("en",), min_length=1, description="ISO 639-1 codes, e.g. [fr, en]; the first is default"
    )
    description: str | None = Field(None, description="optional free text about the company")
    tenders: TenderProfile | None = Field(
        None, description="what public tenders to watch for (the tenders workflow)"
    )

    @property
    def language(self) -> str:
        """The default language."""
        return self.languages[0]


class Company(ConfigModel):
    """The company's identity."""

    id: str = Field("", validate_default=True, description="a slug used in Redis keys")
    name: str = Field(min_length=1, description="the company's name")
    profile: Profile

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("id") is None and isinstance(data.get("name"), str):
            return {**data, "id": slugify(data["name"])}
        return data

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        try:
            return validate_company_id(value)
        except ValueError as err:
            raise ValueError(f"{err}; set company.id to a short slug such as 'acme'") from err
