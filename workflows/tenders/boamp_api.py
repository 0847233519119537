"""BOAMP open-data client: the Explore API v2.1 of boamp-datadila.opendatasoft.com.

``GET {base}/api/explore/v2.1/catalog/datasets/boamp/records`` with an ODSQL ``where``,
``order_by``, ``limit`` (at most 100) and ``offset`` paging; the answer is
``{"total_count": n, "results": [record, ...]}``. The API serves at most 10,000 records
per query (offset + limit), which a few days of BOAMP never reach.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from workflows.tenders.boamp import BoampRecord, from_record
from workflows.tenders.fetching import Fetcher
from workflows.tenders.model import Tender

__all__ = ["RECORDS_PATH", "search_boamp", "where_clause"]

RECORDS_PATH = "/api/explore/v2.1/catalog/datasets/boamp/records"
_MAX_WINDOW = 10_000


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    total_count: int = 0
    results: list[BoampRecord] = []


def where_clause(*, today: date, days: int) -> str:
    """ODSQL: notices published since ``today - days``.

    CPV codes are not filtered here: the dataset's ``descripteur_code`` is BOAMP's own
    thesaurus, not CPV, and CPV lives inside the ``donnees`` JSON; the matcher filters.
    """
    since = (today - timedelta(days=days)).isoformat()
    return f"dateparution >= date'{since}'"


async def search_boamp(
    fetcher: Fetcher,
    base_url: str,
    where: str,
    *,
    page_size: int = 100,
    max_notices: int = 1000,
) -> list[Tender]:
    """Every record the ``where`` clause selects (up to ``max_notices``), normalized."""
    url = base_url.rstrip("/") + RECORDS_PATH
    records: list[BoampRecord] = []
    offset = 0
    limit = min(page_size, 100)
    while offset < min(max_notices, _MAX_WINDOW):
        params: dict[str, str | int] = {
            "where": where,
            "order_by": "dateparution desc",
            "limit": limit,
            "offset": offset,
        }
        response = await fetcher.send("GET", url, params=params)
        try:
            page = _Page.model_validate_json(response.content)
        except ValidationError as err:
            raise fetcher.unreadable(url, "Explore API v2.1 records") from err
        records += page.results
        offset += len(page.results)
        if not page.results or offset >= page.total_count:
            break
    return [from_record(record) for record in records[:max_notices]]
