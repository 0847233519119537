"""Fake TED v3 search API and BOAMP Explore API v2.1 on 127.0.0.1, serving given notices.

One server speaks both wire protocols, so a test points ``ted_base_url`` and
``boamp_base_url`` at ``fake.url``::

    async with FakeTenders(bundled_tenders_raw()) as fake:
        fake.fail("ted", 503, times=2)          # the next two TED calls fail
        fake.fail("boamp", 429, times=1, retry_after=1)

Routes: ``POST /v3/notices/search`` (``paginationMode`` ITERATION with
``iterationNextToken``, or PAGE_NUMBER with ``page``), ``GET /en/notice/{number}/xml``
(the eForms XML, as ``links.xml.MUL`` points to), and
``GET /api/explore/v2.1/catalog/datasets/boamp/records`` (``limit``/``offset``,
``total_count``/``results``). Simplifications: the expert query and the ``where``
clause are recorded, not evaluated; every notice matches. TED publication numbers are
made up (``00000001-2024``...): the SDK examples were never published.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer

__all__ = ["FakeNotice", "FakeTenders", "boamp_record"]

Api = Literal["ted", "ted-xml", "boamp"]
_NATURES = {"contract": "APPEL_OFFRE", "change": "RECTIFICATIF", "cancellation": "ANNULATION",
            "award": "ATTRIBUTION", "prior": "PRE_INFORMATION"}  # fmt: skip


@dataclass(frozen=True)
class FakeNotice:
    """A notice the fake serves: its source, raw bytes, and the fields its API lists."""

    source: Literal["ted", "boamp"]
    raw: bytes
    fields: dict[str, object] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int  # 0: hang until the client gives up (a timeout)
    retry_after: float | None


class FakeTenders(FakeServer):
    """Serves TED and BOAMP notices; scripted failures are consumed in order, per API."""

    def __init__(self, notices: list[FakeNotice]) -> None:
        super().__init__()
        self.ted = [n for n in notices if n.source == "ted"]
        self.boamp = [n for n in notices if n.source == "boamp"]
        self.requests: dict[str, list[dict[str, object]]] = {"ted": [], "ted-xml": [],
                                                             "boamp": []}  # fmt: skip
        self.request_times: dict[str, list[float]] = {"ted": [], "ted-xml": [], "boamp": []}
        self._failures: dict[str, deque[_Failure]] = {"ted": deque(), "ted-xml": deque(),
                                                      "boamp": deque()}  # fmt: skip

    @property
    def url(self) -> str:
        assert self.started, "start the fake first: async with FakeTenders(...)"
        return self.origin

    def fail(
        self, api: Api, status: int, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` calls to ``api`` with ``status`` (0: never answer)."""
        for _ in range(times):
            self._failures[api].append(_Failure(status, retry_after))

    def publication_number(self, index: int) -> str:
        return f"{index + 1:08d}-2024"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v3/notices/search", self._ted_search, methods=["POST"]),
            Route("/en/notice/{number}/xml", self._ted_xml, methods=["GET"]),
            Route(
                "/api/explore/v2.1/catalog/datasets/boamp/records",
                self._boamp_records,
                methods=["GET"],
            ),
        ]

    async def _scripted(self, api: str, record: dict[str, object]) -> Response | None:
        self.requests[api].append(record)
        self.request_times[api].append(asyncio.get_running_loop().time())
        if not self._failures[api]:
            return None
        failure = self._failures[api].popleft()
        if failure.status == 0:
            await self._closing.wait()  # the client's timeout fires first
            return Response(status_code=503)
        headers = {}
        if failure.retry_after is not None:
            headers["retry-after"] = f"{failure.retry_after:g}"
        body = {"error": "scripted failure", "status": failure.status}
        return JSONResponse(body, status_code=failure.status, headers=headers)

    async def _ted_search(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if (failed := await self._scripted("ted", body)) is not None:
            return failed
        limit = int(body.get("limit", 10))
        if body.get("paginationMode") == "ITERATION":
            token = body.get("iterationNextToken")
            start = int(token.removeprefix("it-")) if token else 0
        else:
            start = (int(body.get("page", 1)) - 1) * limit
        indexes = range(start, min(start + limit, len(self.ted)))
        notices = [self._ted_hit(i, list(body.get("fields", []))) for i in indexes]
        answer: dict[str, object] = {"notices": notices, "totalNoticeCount": len(self.ted),
                                     "timedOut": False}  # fmt: skip
        if body.get("paginationMode") == "ITERATION":
            end = start + len(notices)
            answer["iterationNextToken"] = f"it-{end}" if end < len(self.ted) else None
        return JSONResponse(answer)

    def _ted_hit(self, index: int, fields: list[str]) -> dict[str, object]:
        number = self.publication_number(index)
        hit: dict[str, object] = {"publication-number": number}
        known = {**self.ted[index].fields, "links": {
            "xml": {"MUL": f"{self.url}/en/notice/{number}/xml"},
            "html": {"ENG": f"https://ted.europa.eu/en/notice/-/detail/{number}"},
        }}  # fmt: skip
        hit.update({name: known[name] for name in fields if name in known})
        return hit

    async def _ted_xml(self, request: Request) -> Response:
        number = request.path_params["number"]
        if (failed := await self._scripted("ted-xml", {"number": number})) is not None:
            return failed
        for index, notice in enumerate(self.ted):
            if self.publication_number(index) == number:
                return Response(notice.raw, media_type="application/xml")
        return JSONResponse({"error": f"no notice {number}"}, status_code=404)

    async def _boamp_records(self, request: Request) -> Response:
        params = dict(request.query_params)
        if (failed := await self._scripted("boamp", dict(params))) is not None:
            return failed
        limit = int(params.get("limit", 10))
        offset = int(params.get("offset", 0))
        if limit > 100:
            message = "Invalid value for limit API parameter: must be between -1 and 100."
            return JSONResponse({"error_code": "InvalidRESTParameterError", "message": message},
                                status_code=400)  # fmt: skip
        page = self.boamp[offset : offset + limit]
        return JSONResponse(
            {"total_count": len(self.boamp), "results": [dict(n.fields) for n in page]}
        )


def boamp_record(
    *,
    idweb: str,
    objet: str,
    nomacheteur: str,
    dateparution: str | None,
    datelimitereponse: str | None,
    kind: str,
    cpv: list[str],
    amends: str | None = None,
) -> dict[str, object]:
    """A record shaped like the Explore API's ``boamp`` dataset, for the fake to serve."""
    return {
        "id": idweb,
        "idweb": idweb,
        "objet": objet,
        "nomacheteur": nomacheteur,
        "dateparution": dateparution,
        "datelimitereponse": datelimitereponse,
        "nature": _NATURES.get(kind, "APPEL_OFFRE"),
        "annonce_lie": [amends] if amends else None,
        "url_avis": f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
        "descripteur_code": ["274"],
        "donnees": json.dumps({"OBJET": {"CPV": [{"PRINCIPAL": c} for c in cpv]}}),
    }
