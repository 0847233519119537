"""The dated, sourced price table (``prices.yaml``) and conversions to EUR per month.

Each row carries its price, currency, unit, the provider page it was read from and the
date it was checked (set per provider, a row may override it), with that date's precision:
a price known only to have been read in 2025 says ``year``, and is shown as "2025". Each
provider also says how its prices were read (``source``). The file's header says how it was
compiled and that prices change. Costs are always computed from these rows, so a change to
the table changes every plan; ``stale`` names the rows too old to trust.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from equipage import yamlread

__all__ = [
    "MAX_AGE_DAYS",
    "FxRate",
    "PriceRow",
    "PriceTable",
    "Provider",
    "load_prices",
    "read_prices",
]

Provider = Literal["gcp", "scaleway", "hetzner"]
Unit = Literal["hour", "month", "gib-month", "gib", "vcpu-hour", "gib-hour", "ratio"]

_PER_HOUR = {"hour", "vcpu-hour", "gib-hour"}
#: A price checked longer ago than this is stale: providers revise theirs several times a year.
MAX_AGE_DAYS = 180


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceRow(_Model):
    """One price, with where it comes from and when it was checked."""

    provider: Provider
    sku: str = Field(description="our key: instance.PRO2-XXS, compute.n1.vcpu...")
    what: str
    price: float = Field(ge=0)
    currency: Literal["EUR", "USD"]
    unit: Unit
    url: str
    checked: date = Field(description="when the price was read; the latest day it can be")
    checked_precision: Literal["day", "month", "year"] = "day"
    vcpu: float | None = None
    memory_gib: float | None = None
    disk_gib: float | None = Field(None, description="local disk included in the price")
    shared: bool = False
    arch: str = "x86_64"

    @property
    def checked_text(self) -> str:
        """The date as precisely as it is known: ``2025``, ``2025-06`` or ``2025-06-30``."""
        size = {"year": 4, "month": 7, "day": 10}[self.checked_precision]
        return self.checked.isoformat()[:size]

    @property
    def offer(self) -> str:
        """The name a provider sells it under: ``PRO2-XXS``, ``cx22``."""
        return self.sku.split(".", 1)[1]


class FxRate(_Model):
    rate: float = Field(gt=0)
    date: date
    source: str
    note: str = ""


class PriceTable(_Model):
    """All rows, and how to turn any of them into EUR per month."""

    title: str
    compiled: date = Field(description="when the file was put together, not a price check")
    hours_per_month: float
    usd_to_eur: FxRate
    notes: dict[str, str]  # provider -> its note, in English
    notes_fr: dict[str, str] = {}  # the same in French; a missing one falls back to English
    sources: dict[str, str] = {}  # provider -> how its prices were read
    rows: tuple[PriceRow, ...]

    @property
    def checked(self) -> date:
        """The oldest row's date: the table is no fresher than that."""
        return min(row.checked for row in self.rows)

    def oldest(self, *providers: Provider) -> PriceRow:
        """The row checked longest ago among ``providers`` (all when none is named)."""
        rows = [r for r in self.rows if not providers or r.provider in providers]
        return min(rows, key=lambda r: r.checked)

    def stale(self, today: date, *providers: Provider) -> list[PriceRow]:
        """Rows checked more than ``MAX_AGE_DAYS`` before ``today``."""
        limit = today - timedelta(days=MAX_AGE_DAYS)
        return [
            r for r in self.rows if (not providers or r.provider in providers) and r.checked < limit
        ]

    def notes_in(self, language: str) -> dict[str, str]:
        """Provider -> its note in ``language`` (French for ``fr``, else English)."""
        if language != "fr":
            return self.notes
        return {p: self.notes_fr.get(p) or note for p, note in self.notes.items()}

    def row(self, provider: Provider, sku: str) -> PriceRow:
        for row in self.rows:
            if row.provider == provider and row.sku == sku:
                return row
        raise LookupError(f"prices.yaml has no {provider} row {sku!r}; add it to the table")

    def has(self, provider: Provider, sku: str) -> bool:
        return any(r.provider == provider and r.sku == sku for r in self.rows)

    def offers(self, provider: Provider, prefix: str) -> list[PriceRow]:
        """Rows whose sku starts with ``prefix.`` (``instance``, ``db``, ``server``)."""
        return [r for r in self.rows if r.provider == provider and r.sku.startswith(prefix + ".")]

    def eur(self, row: PriceRow) -> float:
        """The row's price in EUR (per its own unit)."""
        if row.unit == "ratio":
            return row.price
        return row.price * (self.usd_to_eur.rate if row.currency == "USD" else 1.0)

    def monthly(self, row: PriceRow, quantity: float = 1.0) -> float:
        """EUR per month for ``quantity`` of the row's unit (vCPUs, GiB, items)."""
        if row.unit == "ratio":
            raise ValueError(f"{row.sku} is a ratio, not a price")
        if row.unit == "gib":
            raise ValueError(f"{row.sku} is priced per GiB moved; use transfer()")
        per = self.hours_per_month if row.unit in _PER_HOUR else 1.0
        return self.eur(row) * per * quantity

    def transfer(self, row: PriceRow, gib: float) -> float:
        """EUR for moving ``gib`` GiB at a per-GiB row."""
        return self.eur(row) * gib

    def ratio(self, provider: Provider, sku: str) -> float:
        return self.row(provider, sku).price

    def pages(self) -> dict[str, list[str]]:
        """Provider → the pricing pages the table cites."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            pages = out.setdefault(row.provider, [])
            if row.url not in pages:
                pages.append(row.url)
        return out


@cache
def load_prices() -> PriceTable:
    """The table shipped beside this module."""
    table = resources.files("workflows.migration").joinpath("prices.yaml")
    return read_prices(table.read_text("utf-8"), str(table))


def read_prices(text: str, path: str) -> PriceTable:
    """The table written in ``text``; a YAML mistake is a ConfigError naming ``path``."""
    raw: Any = yamlread.load(text, path)
    rows: list[PriceRow] = []
    notes: dict[str, str] = {}
    notes_fr: dict[str, str] = {}
    sources: dict[str, str] = {}
    for provider in ("gcp", "scaleway", "hetzner"):
        section = raw[provider]
        notes[provider] = " ".join(str(section.get("note", "")).split())
        notes_fr[provider] = " ".join(str(section.get("note_fr", "")).split())
        sources[provider] = " ".join(str(section.get("source", "")).split())
        for row in section["rows"]:
            merged = {
                "provider": provider,
                "currency": section["currency"],
                "checked": section["checked"],
                "checked_precision": section.get("checked_precision", "day"),
                **row,
            }
            rows.append(PriceRow.model_validate(merged))
    return PriceTable(
        title=raw["title"],
        compiled=raw["compiled"],
        sources=sources,
        hours_per_month=raw["hours_per_month"],
        usd_to_eur=FxRate.model_validate(raw["usd_to_eur"]),
        notes=notes,
        notes_fr=notes_fr,
        rows=tuple(rows),
    )
