"""Read an eForms UBL notice (what TED publishes since 2023) into a ``Tender``.

Handles ContractNotice, PriorInformationNotice and ContractAwardNotice, and change
notices (``efac:Changes``): a change whose reason is ``cancel`` is a cancellation.
Texts are taken in the notice's own language (``cbc:NoticeLanguageCode``), and every
language the notice gives its title and description in is kept too (``languageID``, up to
the EU's 24); eForms three-letter language and country codes become ISO two-letter ones.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone
from xml.etree.ElementTree import Element

from equipage.errors import InputRejected
from workflows.tenders.codes import country2, language2
from workflows.tenders.model import Criterion, Lot, NoticeKind, Source, Tender
from workflows.tenders.xmlsafe import parse_xml

__all__ = ["instant", "kind_of", "on_day", "parse_eforms", "ted_link"]

_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
}
_ROOTS = {"ContractNotice", "PriorInformationNotice", "ContractAwardNotice"}
_EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"
_VERSIONED_ID = re.compile(r"^(?P<id>[0-9a-fA-F-]{36})-(?P<version>\d{2})$")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def ted_link(publication_number: str) -> str:
    """The TED page of a published notice, e.g. ``00123456-2024`` or ``123456-2024``."""
    number, _, year = publication_number.partition("-")
    return f"https://ted.europa.eu/en/notice/-/detail/{number.lstrip('0')}-{year}"


def parse_eforms(data: bytes | str, *, publication_number: str | None = None) -> Tender:
    """The notice in ``data`` as a Tender; InputRejected if it is not an eForms notice.

    ``publication_number`` is TED's (e.g. from the search API): it names the TED page
    when the XML itself was never published (SDK examples, drafts).
    """
    root = parse_xml(data, what="the eForms notice")
    name = root.tag.rpartition("}")[2]
    if name not in _ROOTS:
        raise InputRejected(
            f"the notice's root element is {name!r}, not an eForms ContractNotice, "
            "PriorInformationNotice or ContractAwardNotice; send the notice's XML as TED "
            "publishes it (https://ted.europa.eu/en/notice/{id}/xml)."
        )
    return _Notice(root).tender(publication_number)


class _Notice:
    """One parsed notice: lookups that know its namespaces and its language."""

    def __init__(self, root: Element) -> None:
        self.root = root
        self.lang3 = (_text(root.find("cbc:NoticeLanguageCode", _NS)) or "ENG").upper()

    def tender(self, publication_number: str | None) -> Tender:
        root = self.root
        notice_id = _text(root.find("cbc:ID[@schemeName='notice-id']", _NS)) or _text(
            root.find("cbc:ID", _NS)
        )
        if not notice_id:
            raise InputRejected(
                "the eForms notice has no cbc:ID (notice identifier, BT-701); it cannot be "
                "told apart from others. Send the notice as TED publishes it."
            )
        kind, amends = self.kind()
        project = root.find("cac:ProcurementProject", _NS)
        lots = tuple(self.lot(el) for el in root.findall("cac:ProcurementProjectLot", _NS))
        value, currency = _amount(project)
        if value is None and lots and any(lot.value is not None for lot in lots):
            value = sum(lot.value or 0.0 for lot in lots)
            currency = next(
                (c for el in root.findall("cac:ProcurementProjectLot", _NS)
                 if (c := _amount(el.find("cac:ProcurementProject", _NS))[1])),
                None,
            )  # fmt: skip
        cpv = _unique(_cpv(project) + [c for lot in lots for c in lot.cpv])
        publication = self._publication()
        links = self._links(publication or publication_number)
        title = self.pick(project, "cbc:Name") or next((lot.title for lot in lots), "")
        first_lot = root.find("cac:ProcurementProjectLot/cac:ProcurementProject", _NS)
        titles = self.every(project, "cbc:Name") or self.every(first_lot, "cbc:Name")
        return Tender(
            id=f"{Source.TED}:{notice_id}",
            source=Source.TED,
            notice_id=notice_id,
            kind=kind,
            version=_text(root.find("cbc:VersionID", _NS)),
            procedure_id=_text(root.find("cbc:ContractFolderID", _NS)),
            amends=amends,
            title=title or "(untitled notice)",
            titles=titles,
            descriptions=self.every(project, "cbc:Description"),
            buyer=self._buyer_name() or "",
            country=self._country(),
            language=language2(self.lang3) or "en",
            cpv=tuple(cpv),
            value=value,
            currency=currency,
            deadline=self._deadline(),
            published=self._published(),
            procedure=_text(root.find("cac:TenderingProcess/cbc:ProcedureCode", _NS)),
            nature=_text(project.find("cbc:ProcurementTypeCode", _NS))
            if project is not None
            else None,
            description=self.pick(project, "cbc:Description"),
            lots=lots,
            criteria=lots[0].criteria if len(lots) == 1 else (),
            links=links,
        )

    def pick(self, parent: Element | None, path: str) -> str:
        """The text of ``path`` in the notice's language, else in the first one given."""
        if parent is None:
            return ""
        found = parent.findall(path, _NS)
        for el in found:
            if (el.get("languageID") or "").upper() == self.lang3:
                return _text(el) or ""
        return next((t for el in found if (t := _text(el))), "")

    def every(self, parent: Element | None, path: str) -> dict[str, str]:
        """The text of ``path`` in each language given (``languageID``), by ISO 639-1 code."""
        found: dict[str, str] = {}
        for el in parent.findall(path, _NS) if parent is not None else ():
            language = language2(el.get("languageID")) or language2(self.lang3)
            if language and (text := _text(el)) and language not in found:
                found[language] = text
        return found

    def kind(self) -> tuple[NoticeKind, str | None]:
        changes = self.root.find(f"{_EXT}/efac:Changes", _NS)
        if changes is not None:
            changed = _text(changes.find("efbc:ChangedNoticeIdentifier", _NS))
            reasons = [_text(r) for r in changes.findall("efac:ChangeReason/cbc:ReasonCode", _NS)]
            kind = NoticeKind.CANCELLATION if "cancel" in reasons else NoticeKind.CHANGE
            return kind, _unversioned(changed)
        code = (_text(self.root.find("cbc:NoticeTypeCode", _NS)) or "").lower()
        modified = self.root.find(
            f"{_EXT}/efac:ContractModification/efbc:ChangedNoticeIdentifier", _NS
        )
        if code.startswith("can-modif") and modified is not None:
            return NoticeKind.CHANGE, _unversioned(_text(modified))
        return kind_of(code), None

    def lot(self, el: Element) -> Lot:
        project = el.find("cac:ProcurementProject", _NS)
        criteria = tuple(
            Criterion(
                kind=_text(c.find("cbc:AwardingCriterionTypeCode", _NS)) or "quality",
                description=self.pick(c, "cbc:Description") or self.pick(c, "cbc:Name"),
                weight=_weight(c),
            )
            for c in el.findall(
                "cac:TenderingTerms/cac:AwardingTerms/cac:AwardingCriterion/"
                "cac:SubordinateAwardingCriterion",
                _NS,
            )
        )
        return Lot(
            id=_text(el.find("cbc:ID", _NS)) or "",
            title=self.pick(project, "cbc:Name"),
            description=self.pick(project, "cbc:Description"),
            cpv=tuple(_cpv(project)),
            value=_amount(project)[0],
            criteria=criteria,
        )

    def _organization(self, org_id: str | None) -> Element | None:
        for company in self.root.iterfind(
            f"{_EXT}/efac:Organizations/efac:Organization/efac:Company", _NS
        ):
            if _text(company.find("cac:PartyIdentification/cbc:ID", _NS)) == org_id:
                return company
        return None

    def _buyer(self) -> Element | None:
        buyer_id = _text(
            self.root.find("cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID", _NS)
        )
        return self._organization(buyer_id)

    def _buyer_name(self) -> str | None:
        buyer = self._buyer()
        return self.pick(buyer, "cac:PartyName/cbc:Name") or None

    def _country(self) -> str | None:
        buyer = self._buyer()
        path = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
        code = _text(buyer.find(path, _NS)) if buyer is not None else None
        if code is None:  # no buyer address: where the work is done
            code = _text(self.root.find("cac:ProcurementProject/cac:RealizedLocation/cac:Address/"
                                        "cac:Country/cbc:IdentificationCode", _NS))  # fmt: skip
        return country2(code)

    def _deadline(self) -> datetime | None:
        deadlines = [
            instant(_text(p.find("cbc:EndDate", _NS)), _text(p.find("cbc:EndTime", _NS)))
            for p in self.root.iterfind(
                "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod",
                _NS,
            )
        ]
        found = [d for d in deadlines if d is not None]
        return min(found) if found else None

    def _publication(self) -> str | None:
        return _text(self.root.find(f"{_EXT}/efac:Publication/efbc:NoticePublicationID", _NS))

    def _published(self) -> date | None:
        when = _text(self.root.find(f"{_EXT}/efac:Publication/efbc:PublicationDate", _NS))
        when = when or _text(self.root.find("cbc:IssueDate", _NS))
        return on_day(when)

    def _links(self, publication: str | None) -> tuple[str, ...]:
        uris = [
            _text(el)
            for el in self.root.iterfind(
                ".//cac:CallForTendersDocumentReference/cac:Attachment/cac:ExternalReference/"
                "cbc:URI",
                _NS,
            )
        ]
        uris += [_text(el) for el in self.root.iterfind("cac:ContractingParty/cbc:BuyerProfileURI",
                                                        _NS)]  # fmt: skip
        buyer = self._buyer()
        if buyer is not None:
            uris.append(_text(buyer.find("cbc:BuyerProfileURI", _NS)))
        if publication:
            uris.append(ted_link(publication))
        return tuple(_unique([u for u in uris if u]))


def kind_of(notice_type: str) -> NoticeKind:
    """What an eForms notice type code (BT-02: cn-standard, can-social, pin-only...) is."""
    code = notice_type.strip().lower()
    if code.startswith(("can", "veat")):
        return NoticeKind.AWARD  # results, and voluntary ex-ante transparency (awarded)
    if code.startswith("pin") and "cfc" not in code:
        return NoticeKind.PRIOR  # a pin-cfc is a call for competition: one can bid
    return NoticeKind.CONTRACT


def _text(el: Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return " ".join(el.text.split()) or None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _unversioned(identifier: str | None) -> str | None:
    """``<uuid>-01`` -> ``<uuid>``: changes cite a notice with its version."""
    if identifier is None:
        return None
    found = _VERSIONED_ID.match(identifier)
    return found["id"] if found else identifier


def _cpv(project: Element | None) -> list[str]:
    if project is None:
        return []
    codes = project.findall("cac:MainCommodityClassification/cbc:ItemClassificationCode", _NS)
    codes += project.findall(
        "cac:AdditionalCommodityClassification/cbc:ItemClassificationCode", _NS
    )
    return [t for el in codes if el.get("listName", "cpv") == "cpv" and (t := _text(el))]


def _amount(project: Element | None) -> tuple[float | None, str | None]:
    if project is None:
        return None, None
    el = project.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", _NS)
    text = _text(el)
    if el is None or text is None:
        return None, None
    try:
        return float(text), el.get("currencyID")
    except ValueError:
        return None, None


def _weight(criterion: Element) -> float | None:
    for param in criterion.iterfind(f"{_EXT}/efac:AwardCriterionParameter", _NS):
        code = param.find("efbc:ParameterCode", _NS)
        if code is not None and code.get("listName") == "number-weight":
            try:
                return float(_text(param.find("efbc:ParameterNumeric", _NS)) or "")
            except ValueError:
                return None
    return None


def _split_offset(value: str) -> tuple[str, timezone | None]:
    found = _OFFSET.search(value)
    if not found:
        return value, None
    mark = found.group(1)
    if mark == "Z":
        return value[:-1], UTC
    sign = 1 if mark[0] == "+" else -1
    hours, minutes = int(mark[1:3]), int(mark[4:6])
    return value[: found.start()], timezone(sign * timedelta(hours=hours, minutes=minutes))


def on_day(value: str | None) -> date | None:
    """The day of an eForms date (``2024-01-05+01:00``), or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(_split_offset(value)[0])
    except ValueError:
        return None


def instant(day: str | None, clock: str | None) -> datetime | None:
    """EndDate + EndTime (each may carry an offset) as an aware datetime.

    Without a time the whole day counts (23:59:59); without any offset, UTC.
    """
    when = on_day(day)
    if when is None:
        return None
    zone = _split_offset(day or "")[1]
    at = time(23, 59, 59)
    if clock:
        bare, clock_zone = _split_offset(clock)
        with contextlib.suppress(ValueError):
            at = time.fromisoformat(bare)
        zone = clock_zone or zone
    return datetime.combine(when, at, tzinfo=zone or UTC)
