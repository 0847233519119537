"""Read a TED XML notice in the pre-eForms schema (``TED_EXPORT``, R2.0.8/R2.0.9) into a ``Tender``.

TED published every notice in this schema until eForms took over in 2023, and still
serves the old ones that way. The form (F01..F25, or the defence forms) says what the
notice is: prior information, contract notice, award, corrigendum (F14) or modification
(F20). A notice may carry several translations of its form: the original one is read,
and the title and short description of every translation are kept (by language).
Without a title of its own, the notice's title is TED's: the place and the label of its
CPV code ("France-Paris: Services informatiques"), which is marked as such.
Times in these notices are the buyer's local time with no zone, so the buyer's country
decides the zone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from equipage.errors import InputRejected
from workflows.tenders.eforms import ted_link
from workflows.tenders.model import Criterion, Lot, NoticeKind, Source, Tender
from workflows.tenders.xmlsafe import parse_xml

__all__ = ["parse_ted_xml"]

_KINDS = {
    "F01": NoticeKind.PRIOR, "F04": NoticeKind.PRIOR, "F08": NoticeKind.PRIOR,
    "F16": NoticeKind.PRIOR, "PRIOR_INFORMATION_DEFENCE": NoticeKind.PRIOR,
    "F02": NoticeKind.CONTRACT, "F05": NoticeKind.CONTRACT, "F07": NoticeKind.CONTRACT,
    "F12": NoticeKind.CONTRACT, "F17": NoticeKind.CONTRACT, "F24": NoticeKind.CONTRACT,
    "CONTRACT_DEFENCE": NoticeKind.CONTRACT,
    "F03": NoticeKind.AWARD, "F06": NoticeKind.AWARD, "F13": NoticeKind.AWARD,
    "F15": NoticeKind.AWARD, "F18": NoticeKind.AWARD, "F25": NoticeKind.AWARD,
    "CONTRACT_AWARD_DEFENCE": NoticeKind.AWARD,
    "F14": NoticeKind.CHANGE, "F20": NoticeKind.CHANGE,
}  # fmt: skip
# F21-F23 (social and other specific services) say their kind in <NOTICE TYPE="...">.
_NOTICE_TYPES = {"PRI": NoticeKind.PRIOR, "CONTRACT": NoticeKind.CONTRACT,
                 "QUALIFICATION": NoticeKind.CONTRACT, "AWARD": NoticeKind.AWARD}  # fmt: skip
_PROCEDURES = {
    "PT_OPEN": "open", "PT_RESTRICTED": "restricted",
    "PT_COMPETITIVE_NEGOTIATION": "neg-w-call", "PT_NEGOTIATED_WITH_PRIOR_CALL": "neg-w-call",
    "PT_COMPETITIVE_DIALOGUE": "comp-dial", "PT_INNOVATION_PARTNERSHIP": "innovation",
    "PT_AWARD_CONTRACT_WITHOUT_CALL": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITHOUT_PUBLICATION": "neg-wo-call",
    "PT_NEGOTIATED_WITHOUT_PUBLICATION": "neg-wo-call",
}  # fmt: skip
_NATURES = {"WORKS": "works", "SUPPLIES": "supplies", "SERVICES": "services"}
_NATURE_CODES = {"1": "works", "2": "supplies", "4": "services"}
# Zones of the countries not on Central European Time (TED gives local times, no zone).
_ZONES = {"PT": "Europe/Lisbon", "IE": "Europe/Dublin", "GB": "Europe/London",
          "IS": "Atlantic/Reykjavik", "BG": "Europe/Sofia", "CY": "Asia/Nicosia",
          "EE": "Europe/Tallinn", "FI": "Europe/Helsinki", "GR": "Europe/Athens",
          "LT": "Europe/Vilnius", "LV": "Europe/Riga", "RO": "Europe/Bucharest"}  # fmt: skip
_OJS_NUMBER = re.compile(r"(?P<year>\d{4})\s*/S\s*\d+\s*-\s*0*(?P<number>\d+)")


def parse_ted_xml(data: bytes | str) -> Tender:
    """The TED_EXPORT notice in ``data`` as a Tender; InputRejected if it is not one."""
    root = parse_xml(data, what="the TED notice")
    if _local(root) != "TED_EXPORT":
        raise InputRejected(
            f"the notice's root element is {_local(root)!r}, not TED_EXPORT (the TED XML "
            "schema before eForms); send the notice's XML as TED publishes it."
        )
    doc_id = (root.get("DOC_ID") or "").strip()
    if not doc_id:
        raise InputRejected(
            "the TED notice has no DOC_ID (its publication number, e.g. 352458-2021); it "
            "cannot be told apart from others. Send the notice as TED publishes it."
        )
    return _Notice(root, doc_id).tender()


class _Notice:
    """One TED_EXPORT notice: its coded data and the form in its original language."""

    def __init__(self, root: Element, doc_id: str) -> None:
        self.root = root
        self.doc_id = doc_id
        self.data = _path(root, "CODED_DATA_SECTION", "NOTICE_DATA")
        self.codif = _path(root, "CODED_DATA_SECTION", "CODIF_DATA")
        self.form = self._form()
        self.lang = (self.form.get("LG") if self.form is not None else None) or _text(
            _path(self.data, "LG_ORIG")
        )

    def tender(self) -> Tender:
        form = self.form
        body = _first(form, "OBJECT_CONTRACT", "OBJECT_CONTRACT_INFORMATION_DEFENCE")
        kind = self._kind()
        earlier = _ojs_id(_text(_path(self.data, "REF_NOTICE", "NO_DOC_OJS")))
        country = _country(_attr(_path(self.data, "ISO_COUNTRY"), "VALUE"))
        value, currency = self._value(body)
        lots = tuple(self._lot(el, i) for i, el in enumerate(_all(body, "OBJECT_DESCR"), 1))
        title = self._title(body)
        titles, descriptions = self._translations()
        return Tender(
            id=f"{Source.TED}:{self.doc_id}",
            source=Source.TED,
            notice_id=self.doc_id,
            kind=kind,
            procedure_id=earlier if kind is not NoticeKind.PRIOR and earlier else self.doc_id,
            amends=earlier if kind in (NoticeKind.CHANGE, NoticeKind.CANCELLATION) else None,
            title=title or self._label() or self.doc_id,
            titles=titles,
            descriptions=descriptions,
            title_is_label=not title and bool(self._label()),
            buyer=self._buyer(),
            country=country,
            language=(self.lang or "en").lower(),
            cpv=tuple(self._cpv(body)),
            value=value,
            currency=currency,
            deadline=self._deadline(country),
            published=_day(_text(_path(self.root, "CODED_DATA_SECTION", "REF_OJS", "DATE_PUB"))),
            procedure=self._procedure(),
            nature=self._nature(body),
            description=_paragraphs(_first(body, "SHORT_DESCR", "SHORT_CONTRACT_DESCRIPTION")),
            lots=lots,
            criteria=lots[0].criteria if len(lots) == 1 else (),
            links=self._links(),
        )

    def _form(self) -> Element | None:
        forms = [el for el in _children(_path(self.root, "FORM_SECTION")) if el.get("LG")]
        original = _text(_path(self.data, "LG_ORIG"))
        return next((f for f in forms if f.get("CATEGORY") == "ORIGINAL"), None) or next(
            (f for f in forms if f.get("LG") == original), forms[0] if forms else None
        )

    def _kind(self) -> NoticeKind:
        name = _local(self.form) if self.form is not None else ""
        kind = _KINDS.get(name.split("_20")[0]) or _KINDS.get(name)
        if kind is None and self.form is not None:
            declared = _attr(_path(self.form, "NOTICE"), "TYPE") or ""
            kind = next((k for p, k in _NOTICE_TYPES.items() if declared.startswith(p)), None)
        if kind is None:  # no form we know: the coded document type
            code = _attr(_path(self.codif, "TD_DOCUMENT_TYPE"), "CODE")
            kind = {"0": NoticeKind.PRIOR, "1": NoticeKind.CHANGE,
                    "7": NoticeKind.AWARD}.get(code or "", NoticeKind.CONTRACT)  # fmt: skip
        return kind

    def _title(self, body: Element | None) -> str:
        return _paragraphs(_first(body, "TITLE", "TITLE_CONTRACT"))

    def _label(self) -> str:
        """TED's title in the notice's language: place and CPV label, not the buyer's words."""
        for doc in _all(_path(self.root, "TRANSLATION_SECTION", "ML_TITLES"), "ML_TI_DOC"):
            if doc.get("LG") == self.lang:
                place = "-".join(t for name in ("TI_CY", "TI_TOWN")
                                 if (t := _text(_path(doc, name))))  # fmt: skip
                text = _paragraphs(_path(doc, "TI_TEXT"))
                return f"{place}: {text}" if place and text else text
        return ""

    def _translations(self) -> tuple[dict[str, str], dict[str, str]]:
        """The title and short description of the form in each language it is given in."""
        titles: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        for form in _children(_path(self.root, "FORM_SECTION")):
            language = (form.get("LG") or "").lower()
            body = _first(form, "OBJECT_CONTRACT", "OBJECT_CONTRACT_INFORMATION_DEFENCE")
            if not language or language in titles:
                continue
            if title := self._title(body):
                titles[language] = title
            if text := _paragraphs(_first(body, "SHORT_DESCR", "SHORT_CONTRACT_DESCRIPTION")):
                descriptions[language] = text
        return titles, descriptions

    def _buyer(self) -> str:
        name = next((_text(el) for el in _descendants(self.form, "OFFICIALNAME")), None)
        if name:
            return name
        names = _all(_path(self.root, "TRANSLATION_SECTION", "ML_AA_NAMES"), "AA_NAME")
        mine = [n for n in names if n.get("LG") == self.lang] or names
        return next((t for n in mine if (t := _text(n))), "")

    def _cpv(self, body: Element | None) -> list[str]:
        main = _descendants(_first(body, "CPV_MAIN"), "CPV_CODE")
        return _codes([*main, *_all(self.data, "ORIGINAL_CPV"), *_descendants(body, "CPV_CODE")])

    def _value(self, body: Element | None) -> tuple[float | None, str | None]:
        for el in _all(_path(self.data, "VALUES"), "VALUE"):
            if (amount := _float(_text(el))) is not None:
                return amount, el.get("CURRENCY")
        total = _first(body, "VAL_ESTIMATED_TOTAL", "VAL_TOTAL")
        amount = _float(_text(total))
        if total is None or amount is None:
            return None, None
        return amount, total.get("CURRENCY")

    def _deadline(self, country: str | None) -> datetime | None:
        coded = _text(_path(self.codif, "DT_DATE_FOR_SUBMISSION"))  # "20210810 09:30"
        day = _day(coded[:8] if coded else None)
        if day is None:
            return None
        at = time(23, 59, 59)  # a day without a time: the whole day counts
        if coded and len(coded) > 9:
            with contextlib.suppress(ValueError):
                at = time.fromisoformat(coded[9:].strip().zfill(5))
        zone = ZoneInfo(_ZONES.get(country or "", "Europe/Brussels"))
        return datetime.combine(day, at, tzinfo=zone)

    def _procedure(self) -> str | None:
        procedure = _path(self.form, "PROCEDURE")
        for el in _children(procedure):
            if (name := _local(el)) in _PROCEDURES:
                return _PROCEDURES[name]
        return None

    def _nature(self, body: Element | None) -> str | None:
        ctype = _attr(_first(body, "TYPE_CONTRACT"), "CTYPE") or _attr(
            _first(body, "TYPE_CONTRACT"), "VALUE"
        )
        if ctype:
            return _NATURES.get(ctype)
        return _NATURE_CODES.get(_attr(_path(self.codif, "NC_CONTRACT_NATURE"), "CODE") or "")

    def _lot(self, el: Element, index: int) -> Lot:
        criteria: list[Criterion] = []
        for c in _children(_path(el, "AC")):
            kind = {"AC_QUALITY": "quality", "AC_COST": "cost", "AC_PRICE": "price"}.get(_local(c))
            if kind:
                criteria.append(Criterion(
                    kind=kind,
                    description=_text(_path(c, "AC_CRITERION")) or "",
                    weight=_float(_text(_path(c, "AC_WEIGHTING"))),
                ))  # fmt: skip
        value = _path(el, "VAL_OBJECT")
        return Lot(
            id=_text(_path(el, "LOT_NO")) or el.get("ITEM") or str(index),
            title=_paragraphs(_path(el, "TITLE")),
            description=_paragraphs(_path(el, "SHORT_DESCR")),
            cpv=tuple(_codes(_descendants(el, "CPV_CODE"))),
            value=_float(_text(value)),
            criteria=tuple(criteria),
        )

    def _links(self) -> tuple[str, ...]:
        uris = [_text(_path(self.data, "IA_URL_ETENDERING"))]
        uris += [_text(el) for el in _descendants(self.form, "URL_DOCUMENT")]
        uris += [_text(el) for el in _all(_path(self.data, "URI_LIST"), "URI_DOC")
                 if el.get("LG") == self.lang]  # fmt: skip
        uris.append(ted_link(self.doc_id))
        return tuple(dict.fromkeys(u for u in uris if u))


def _local(el: Element) -> str:
    return el.tag.rpartition("}")[2]


def _children(el: Element | None) -> Iterator[Element]:
    return iter(el) if el is not None else iter(())


def _all(el: Element | None, name: str) -> list[Element]:
    return [c for c in _children(el) if _local(c) == name]


def _path(el: Element | None, *names: str) -> Element | None:
    for name in names:
        el = next(iter(_all(el, name)), None)
    return el


def _first(el: Element | None, *names: str) -> Element | None:
    """The first descendant named any of ``names``, in document order."""
    if el is None:
        return None
    return next((d for d in el.iter() if d is not el and _local(d) in names), None)


def _descendants(el: Element | None, name: str) -> list[Element]:
    return [d for d in el.iter() if _local(d) == name] if el is not None else []


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    return " ".join("".join(el.itertext()).split()) or None


def _attr(el: Element | None, name: str) -> str | None:
    return el.get(name) if el is not None else None


def _codes(elements: list[Element]) -> list[str]:
    """The CODE attributes of ``elements``, once each, in order."""
    return list(dict.fromkeys(code for el in elements if (code := el.get("CODE"))))


def _paragraphs(el: Element | None) -> str:
    if el is None:
        return ""
    parts = [t for p in _all(el, "P") if (t := _text(p))] or [_text(el) or ""]
    return "\n".join(p for p in parts if p)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:  # "79.98 %", "1,900,000.000": prose, not a number
        return None


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.replace("-", "")[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _country(code: str | None) -> str | None:
    code = (code or "").strip().upper()
    return {"UK": "GB", "EL": "GR"}.get(code, code) or None  # TED writes UK and EL


def _ojs_id(number: str | None) -> str | None:
    """``2020/S 078-183831`` (an OJ S reference) -> ``183831-2020`` (a TED DOC_ID)."""
    found = _OJS_NUMBER.search(number or "")
    return f"{found['number']}-{found['year']}" if found else None
