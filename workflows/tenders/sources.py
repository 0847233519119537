"""Fetch tenders from every enabled source (TED, BOAMP, or the bundled notices).

``fetch_tenders`` is what the ``tenders`` workflow calls: one source failing after its
retries becomes a ``SourceFailure`` in the report while the others' tenders still come
back. ``bundled_tenders`` parses the real notices shipped in ``notices/`` (offline demo).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from importlib import resources
from typing import Annotated

import httpx
from pydantic import BaseModel, ConfigDict, Field

from equipage.config import TenderProfile
from equipage.egress import Egress
from equipage.errors import SourceError
from equipage.inputs import OwnerOnly
from workflows.tenders.boamp import parse_boamp_json, parse_boamp_xml
from workflows.tenders.boamp_api import search_boamp, where_clause
from workflows.tenders.eforms import parse_eforms
from workflows.tenders.failure import SourceProblem
from workflows.tenders.fetching import Fetcher
from workflows.tenders.model import Tender
from workflows.tenders.phrases import EN, problem
from workflows.tenders.ted import expert_query, search_ted
from workflows.tenders.tedxml import parse_ted_xml
from workflows.tenders.xmlsafe import parse_xml

__all__ = [
    "FetchReport",
    "SourceFailure",
    "SourcesConfig",
    "bundled_tenders",
    "fetch_tenders",
    "parse_notice",
]


class SourcesConfig(BaseModel):
    """Where the tenders workflow looks for notices; part of its Input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ted: bool = Field(True, description="search TED (EU Tenders Electronic Daily)")
    boamp: bool = Field(True, description="search BOAMP (French public notices)")
    # Where requests go is the owner's choice (company.yaml or their command line): a
    # base URL may even be private (a mirror, a test server); links in answers may not.
    ted_base_url: Annotated[str, OwnerOnly()] = Field(
        "https://api.ted.europa.eu", description="TED API base URL"
    )
    boamp_base_url: Annotated[str, OwnerOnly()] = Field(
        "https://boamp-datadila.opendatasoft.com", description="BOAMP open-data API base URL"
    )
    bundled: bool = Field(
        False, description="use the notices shipped with Equipage instead of the network"
    )
    days: int = Field(7, ge=1, le=366, description="notices published in the last N days")
    timeout: float = Field(20.0, gt=0, description="seconds per HTTP request")
    retries: int = Field(3, ge=0, le=10, description="retries per request on 429/5xx/timeouts")


class SourceFailure(BaseModel):
    """A source that failed after its retries; the problem carries no secrets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    problem: SourceProblem  # ``phrases.problem`` says it in the report's language
    attempts: int

    @property
    def reason(self) -> str:
        """The problem in English, for logs and programs; reports use ``phrases.problem``."""
        return problem(self.problem, EN)


class FetchReport(BaseModel):
    """What a fetch brought back: tenders, sources that failed, notices per source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenders: list[Tender]
    failures: list[SourceFailure] = []
    fetched: dict[str, int] = {}


async def fetch_tenders(
    config: SourcesConfig,
    profile: TenderProfile,
    *,
    today: date,
    transport: httpx.AsyncBaseTransport | None = None,
    backoff: float = 0.5,
) -> FetchReport:
    """Tenders published in the last ``config.days`` days, narrowed by the profile.

    Sources run concurrently; one that fails after its retries is reported in
    ``failures`` and the others' tenders still come back. ``bundled`` reads the notices
    shipped with Equipage and touches no network. ``backoff`` is the first retry's wait
    in seconds (tests shorten it).
    """
    if config.bundled:
        tenders = bundled_tenders()
        counts: dict[str, int] = {}
        for tender in tenders:
            counts[tender.source] = counts.get(tender.source, 0) + 1
        return FetchReport(tenders=tenders, fetched=counts)

    async def ted(fetcher: Fetcher) -> list[Tender]:
        query = expert_query(profile, today=today, days=config.days)
        return await search_ted(fetcher, config.ted_base_url, query)

    async def boamp(fetcher: Fetcher) -> list[Tender]:
        if profile.countries and "FR" not in profile.countries:
            return []  # BOAMP publishes French notices only
        where = where_clause(today=today, days=config.days)
        return await search_boamp(fetcher, config.boamp_base_url, where)

    jobs: dict[str, Callable[[Fetcher], Awaitable[list[Tender]]]] = {}
    bases: dict[str, str] = {}
    if config.ted:
        jobs["ted"] = ted
        bases["ted"] = config.ted_base_url
    if config.boamp:
        jobs["boamp"] = boamp
        bases["boamp"] = config.boamp_base_url

    async def run(name: str) -> tuple[list[Tender], SourceFailure | None]:
        async with Fetcher(
            name,
            timeout=config.timeout,
            retries=config.retries,
            backoff=backoff,
            transport=transport,
            egress=Egress([bases[name]]),
        ) as fetcher:
            try:
                return await jobs[name](fetcher), None
            except SourceError:
                # Every SourceError of a source comes from its fetcher, which kept why.
                found = fetcher.problem or SourceProblem(kind="unreadable", expected="?")
                return [], SourceFailure(source=name, problem=found, attempts=fetcher.attempts)

    results = await asyncio.gather(*(run(name) for name in jobs))
    return FetchReport(
        tenders=[tender for tenders, _ in results for tender in tenders],
        failures=[failure for _, failure in results if failure is not None],
        fetched={name: len(tenders) for name, (tenders, _) in zip(jobs, results, strict=True)},
    )


def bundled_tenders() -> list[Tender]:
    """The real notices shipped in ``workflows/tenders/notices/``, parsed, in file order."""
    folder = resources.files("workflows.tenders") / "notices"
    return [
        parse_notice(item.read_bytes())
        for item in sorted(folder.iterdir(), key=lambda f: f.name)
        if item.name.endswith((".xml", ".json"))
    ]


def parse_notice(data: bytes) -> Tender:
    """Any notice Equipage reads, told apart by its content, not its file name.

    JSON is a BOAMP notice (api.dila.fr); XML is routed on its root element: TED_EXPORT
    (TED before eForms), ANNONCE (BOAMP v230), anything else eForms (which refuses
    roots it does not know, with a message naming them).
    """
    if data.lstrip()[:1] in (b"{", b"["):
        return parse_boamp_json(data)
    root = parse_xml(data, what="the notice").tag.rpartition("}")[2]
    if root == "TED_EXPORT":
        return parse_ted_xml(data)
    if root == "ANNONCE":
        return parse_boamp_xml(data)
    return parse_eforms(data)
