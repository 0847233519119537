"""TED (Tenders Electronic Daily) v3 search API client.

``POST {base}/v3/notices/search`` with an expert query (CPV, buyer country, publication
date), paged with ``paginationMode: ITERATION`` and ``iterationNextToken``. Each hit is
then read from its eForms XML (``links.xml.MUL``): one parser gives lots, award
criteria, values and deadlines the same way for every notice, where the search fields
come as per-language dicts and per-lot lists. A notice whose XML cannot be had is kept
from its search fields (``ted_fields``: kind, value, deadline, country, under their long
names or short aliases), so a flaky XML host loses detail, not notices; a notice TED's
fields call an award stays an award whatever path it came by.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from equipage.config import TenderProfile
from equipage.errors import InputRejected, SourceError
from workflows.tenders.eforms import parse_eforms
from workflows.tenders.fetching import Fetcher
from workflows.tenders.model import NoticeKind, Tender
from workflows.tenders.ted_fields import TedHit
from workflows.tenders.tedxml import parse_ted_xml

__all__ = ["SEARCH_FIELDS", "TedHit", "expert_query", "search_ted"]

SEARCH_FIELDS = (
    "publication-number",
    "notice-title",
    "buyer-name",
    "buyer-country",
    "classification-cpv",
    "publication-date",
    "deadline-receipt-tender-date-lot",
    "notice-type",
    "form-type",
    "estimated-value-proc",
    "estimated-value-cur-proc",
    "estimated-value-lot",
    "estimated-value-cur-lot",
    "description-proc",
    "links",
)
_ALPHA3 = {"FR": "FRA", "BE": "BEL", "LU": "LUX", "DE": "DEU", "NL": "NLD", "ES": "ESP",
           "IT": "ITA", "PT": "PRT", "CH": "CHE", "AT": "AUT", "IE": "IRL", "PL": "POL",
           "DK": "DNK", "SE": "SWE", "FI": "FIN", "NO": "NOR", "CZ": "CZE", "GR": "GRC",
           "RO": "ROU", "HU": "HUN", "SK": "SVK", "SI": "SVN", "HR": "HRV", "BG": "BGR",
           "EE": "EST", "LV": "LVA", "LT": "LTU", "MT": "MLT", "CY": "CYP", "IS": "ISL",
           "LI": "LIE", "GB": "GBR"}  # fmt: skip


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    notices: list[TedHit] = []
    totalNoticeCount: int = 0
    iterationNextToken: str | None = None


def expert_query(profile: TenderProfile, *, today: date, days: int) -> str:
    """The TED expert query for notices published since ``today - days`` fitting the profile.

    CPV prefixes are padded to 8 digits (``72`` -> ``72000000``): TED's CPV search matches
    the code and the codes below it.
    """
    since = (today - timedelta(days=days)).strftime("%Y%m%d")
    parts = []
    if profile.cpv:
        codes = " ".join(dict.fromkeys(p.ljust(8, "0")[:8] for p in profile.cpv))
        parts.append(f"classification-cpv IN ({codes})")
    countries = [_ALPHA3[c] for c in profile.countries if c in _ALPHA3]
    if countries:
        parts.append(f"buyer-country IN ({' '.join(countries)})")
    parts.append(f"publication-date>={since}")
    return " AND ".join(parts) + " SORT BY publication-number DESC"


async def search_ted(
    fetcher: Fetcher,
    base_url: str,
    query: str,
    *,
    page_size: int = 100,
    max_notices: int = 500,
    concurrency: int = 4,
) -> list[Tender]:
    """Every notice the query finds (up to ``max_notices``), normalized."""
    hits: list[TedHit] = []
    token: str | None = None
    url = base_url.rstrip("/") + "/v3/notices/search"
    while len(hits) < max_notices:
        body: dict[str, object] = {
            "query": query,
            "fields": list(SEARCH_FIELDS),
            "limit": min(page_size, 250),
            "scope": "ALL",
            "paginationMode": "ITERATION",
        }
        if token:
            body["iterationNextToken"] = token
        response = await fetcher.send("POST", url, json=body)
        try:
            page = _Page.model_validate_json(response.content)
        except ValueError as err:
            raise fetcher.unreadable(url, "TED v3 search") from err
        hits += page.notices
        token = page.iterationNextToken
        if not page.notices or not token:
            break
    gate = asyncio.Semaphore(concurrency)

    async def one(hit: TedHit) -> Tender:
        async with gate:
            return await _read_notice(fetcher, hit)

    return list(await asyncio.gather(*(one(hit) for hit in hits[:max_notices])))


async def _read_notice(fetcher: Fetcher, hit: TedHit) -> Tender:
    number = hit.publication_number
    xml_url = hit.links.get("xml", {}).get("MUL") or f"https://ted.europa.eu/en/notice/{number}/xml"
    try:
        response = await fetcher.send("GET", xml_url, headers={"accept": "application/xml"})
        tender = _parse(response.content, number)
    except (SourceError, InputRejected):
        return hit.tender()
    if hit.kind() is NoticeKind.AWARD and tender.kind in (NoticeKind.CONTRACT, NoticeKind.PRIOR):
        # TED files it as a result whatever the XML's own form says: never an opportunity.
        return tender.model_copy(update={"kind": NoticeKind.AWARD})
    return tender


def _parse(data: bytes, number: str) -> Tender:
    """eForms since 2023; older notices come in the TED_EXPORT schema."""
    try:
        return parse_eforms(data, publication_number=number)
    except InputRejected:
        return parse_ted_xml(data)
