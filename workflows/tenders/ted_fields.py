"""A TED v3 search hit read from its fields alone, by long name or short alias.

TED's search accepts and returns each field under the name it was asked by: the long
names (``notice-title``, ``publication-date``, ``deadline-receipt-tender-date-lot``,
``buyer-country``, ``notice-type``...) or the short aliases of the expert search (``TI``
title, ``ND`` notice number, ``PD`` publication date, ``CY`` country, ``PC`` CPV, ``DT``
deadline, ``TD``/``TY`` notice type). A field comes as a string, a number, a list, or a
dict by language; every shape is read. When the notice's XML cannot be had these fields
are all there is: the kind, value, deadline and buyer country still come from them, so
an award found only by search is never taken for an opportunity.

TED titles a notice "<country> – <CPV label> – <buyer's title>" (eForms) or
"<country>-<town>: <CPV label>" (before eForms): the label is TED's word for the CPV
code, not the buyer's, and is kept out of what keywords match.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue, model_validator

from workflows.tenders.codes import country2, language2
from workflows.tenders.eforms import instant, kind_of, on_day, ted_link
from workflows.tenders.model import NoticeKind, Source, Tender

__all__ = ["ALIASES", "TedHit"]

#: Long name -> the other names TED (or a client asking by alias) returns it under.
ALIASES: dict[str, tuple[str, ...]] = {
    "publication-number": ("ND",),
    "notice-title": ("TI",),
    "publication-date": ("PD",),
    "buyer-country": ("CY", "organisation-country-buyer"),
    "buyer-name": ("organisation-name-buyer",),
    "classification-cpv": ("PC",),
    "deadline-receipt-tender-date-lot": ("DT", "deadline", "deadline-receipt-request"),
    "notice-type": ("TD", "TY"),
}
# form-type (BT-03) and the pre-eForms document types, by the words they are written in.
_FORMS = {
    "planning": NoticeKind.PRIOR, "competition": NoticeKind.CONTRACT,
    "result": NoticeKind.AWARD, "dir-awa-pre": NoticeKind.AWARD, "change": NoticeKind.CHANGE,
    "cont-modif": NoticeKind.CHANGE,
}  # fmt: skip
_OLD_TYPES = (  # pre-eForms TD codes and labels; the first word found decides
    ("award", NoticeKind.AWARD), ("result", NoticeKind.AWARD), ("ex ante", NoticeKind.AWARD),
    ("corrigend", NoticeKind.CHANGE), ("modification", NoticeKind.CHANGE),
    ("additional information", NoticeKind.CHANGE), ("prior", NoticeKind.PRIOR),
    ("periodic", NoticeKind.PRIOR), ("contract notice", NoticeKind.CONTRACT),
)  # fmt: skip
_OLD_CODES = {"0": NoticeKind.PRIOR, "1": NoticeKind.CHANGE, "3": NoticeKind.CONTRACT,
              "7": NoticeKind.AWARD, "V": NoticeKind.AWARD}  # fmt: skip
_OLD_TITLE = re.compile(r"^[^:–—]{2,80}-[^:–—]{1,80}:\s*\S")  # "France-Paris: Label"
_DASH = re.compile(r"\s[–—]\s")


class TedHit(BaseModel):
    """One notice of a search answer: its fields as TED returned them, by name."""

    model_config = ConfigDict(frozen=True)

    fields: dict[str, JsonValue]

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) != {"fields"}:
            return {"fields": data}
        return data

    def get(self, name: str) -> JsonValue:
        """The field under its long name or any of its aliases."""
        for key in (name, *ALIASES.get(name, ())):
            if self.fields.get(key) not in (None, "", [], {}):
                return self.fields[key]
        return None

    @property
    def publication_number(self) -> str:
        return next(iter(_strings(self.get("publication-number"))), "")

    @property
    def links(self) -> dict[str, dict[str, str]]:
        links = self.fields.get("links")
        if not isinstance(links, dict):
            return {}
        return {k: {lk: lv for lk, lv in v.items() if isinstance(lv, str)}
                for k, v in links.items() if isinstance(v, dict)}  # fmt: skip

    def kind(self) -> NoticeKind | None:
        """What the notice is, from notice-type, form-type or the old document type."""
        for value in _strings(self.get("notice-type")):
            code = value.strip()
            if code in _OLD_CODES:
                return _OLD_CODES[code]
            lowered = code.lower()
            old = next((k for word, k in _OLD_TYPES if word in lowered), None)
            if old is not None:
                return old
            if re.fullmatch(r"[a-z-]+", lowered):
                return kind_of(lowered)
        for value in _strings(self.fields.get("form-type")):
            if value.lower() in _FORMS:
                return _FORMS[value.lower()]
        return None

    def tender(self) -> Tender:
        """A Tender from these fields alone (the XML could not be read)."""
        number = self.publication_number
        titles = _by_language(self.get("notice-title"))
        language = "en" if "en" in titles else next(iter(titles), "en")
        words = {key: _buyers_words(text) for key, text in titles.items()}
        title, is_label = words.get(language, ("", False))
        descriptions = _by_language(self.fields.get("description-proc"))
        value, currency = self._value()
        countries = _strings(self.get("buyer-country"))
        return Tender(
            id=f"{Source.TED}:{number}",
            source=Source.TED,
            notice_id=number,
            kind=self.kind() or NoticeKind.CONTRACT,
            title=title or number,
            titles={key: text for key, (text, label) in words.items() if text and not label},
            title_is_label=is_label,
            buyer=next(iter(_by_language(self.get("buyer-name")).values()), ""),
            country=country2(countries[0]) if countries else None,
            language=language,
            cpv=tuple(dict.fromkeys(_strings(self.get("classification-cpv")))),
            value=value,
            currency=currency,
            deadline=self._deadline(),
            published=self._published(),
            description=descriptions.get(language) or next(iter(descriptions.values()), ""),
            descriptions=descriptions,
            links=(ted_link(number),),
        )

    def _value(self) -> tuple[float | None, str | None]:
        """The procedure's estimated value, else the sum of its lots'."""
        for amount, currency in (("estimated-value-proc", "estimated-value-cur-proc"),
                                 ("estimated-value-lot", "estimated-value-cur-lot")):  # fmt: skip
            found = _strings(self.fields.get(amount))
            numbers = [n for s in found if (n := _number(s)) is not None]
            if numbers:
                return sum(numbers), next(iter(_strings(self.fields.get(currency))), None)
        return None, None

    def _deadline(self) -> datetime | None:
        found = [d for s in _strings(self.get("deadline-receipt-tender-date-lot"))
                 if (d := instant(_iso(s), None)) is not None]  # fmt: skip
        return min(found) if found else None

    def _published(self) -> date | None:
        return next((d for s in _strings(self.get("publication-date")) if (d := on_day(_iso(s)))),
                    None)  # fmt: skip


def _buyers_words(title: str) -> tuple[str, bool]:
    """The buyer's words in a TED title, and whether all there is is TED's label."""
    parts = _DASH.split(title)
    if len(parts) >= 3:
        return " – ".join(parts[2:]).strip(), False
    if len(parts) == 2 or _OLD_TITLE.match(title):
        return title, True
    return title, False


def _strings(value: JsonValue) -> list[str]:
    """Every string (or number) in a field, whatever its shape, in order."""
    if value is None:
        return []
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [s for item in items for s in _strings(item)]


def _by_language(value: JsonValue) -> dict[str, str]:
    """A per-language field ({"fra": ..., "eng": [...]}) by ISO 639-1 code; a bare string
    is taken as English."""
    if isinstance(value, dict):
        found = {}
        for key, text in value.items():
            language = language2(key.upper()) or key.lower()[:2]
            if (words := " ".join(_strings(text)).strip()) and language not in found:
                found[language] = words
        return found
    words = " ".join(_strings(value)).strip()
    return {"en": words} if words else {}


def _number(text: str) -> float | None:
    try:
        return float(text.replace(" ", "").replace(",", ""))
    except ValueError:
        return None


def _iso(text: str) -> str:
    """``20240105`` (the short fields' dates) -> ``2024-01-05``; ISO dates pass."""
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text.split("T")[0] if re.match(r"\d{4}-\d{2}-\d{2}T", text) else text
