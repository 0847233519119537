"""One HTTP client for the tender sources: timeouts, bounded retries, backoff, Retry-After.

A request is retried on timeouts, connection errors, 429 and 5xx, waiting the server's
``Retry-After`` when it sends one (capped), else an exponential backoff. When retries
run out it raises ``SourceError`` and keeps why as ``problem`` (a ``SourceProblem``: status
or error kind and host, never headers or bodies), which the report words for the founder.
Every request and redirect goes through ``equipage.egress``: links in an answer are
outside content, so only the configured base URL may be a private address, and a
redirect stays on its host; a refused one is not retried.
"""

from __future__ import annotations

import asyncio
import email.utils
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import httpx

from equipage.egress import Egress
from equipage.errors import OffLimits, SourceError
from workflows.tenders.failure import SourceProblem
from workflows.tenders.phrases import EN, problem

__all__ = ["Fetcher"]

_MAX_WAIT = 60.0  # a Retry-After longer than this is not worth holding a run for


class Fetcher:
    """Sends a source's requests and counts attempts (the report says how many were made)."""

    def __init__(
        self,
        source: str,
        *,
        timeout: float,
        retries: int,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        egress: Egress | None = None,
    ) -> None:
        self.source = source
        self.egress = egress or Egress()
        self.retries = retries
        self.backoff = backoff
        self.attempts = 0
        #: Why the last request that raised failed; ``None`` while none has.
        self.problem: SourceProblem | None = None
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"accept": "application/json", "user-agent": "equipage-tenders"},
            follow_redirects=False,  # Egress follows them, checking each hop
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def send(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        """The first 2xx answer; SourceError once ``retries`` retries have failed."""
        host = _host(url)
        for attempt in range(self.retries + 1):
            self.attempts += 1
            wait = self.backoff * 2**attempt
            try:
                request = self._client.build_request(method, url, **kwargs)  # type: ignore[arg-type]
                response = await self.egress.send(self._client, request)
            except OffLimits as err:
                if err.why == "redirect":
                    found = SourceProblem(kind="redirect", host=host, error=err.target)
                else:
                    found = SourceProblem(kind="private_address", host=err.target or host)
                break  # the same answer again: a refusal is not worth a retry
            except httpx.TimeoutException:
                found = SourceProblem(kind="timeout", host=host)
            except httpx.RequestError as err:  # connection errors, too many redirects
                found = SourceProblem(kind="connection", host=host, error=type(err).__name__)
            else:
                if response.is_success:
                    return response
                found = SourceProblem(kind="http_status", host=host, status=response.status_code)
                if response.status_code != 429 and response.status_code < 500:
                    break  # a 4xx other than 429 will not change on retry
                wait = _retry_after(response) or wait
            if attempt < self.retries:
                await asyncio.sleep(min(wait, _MAX_WAIT))
        raise self.failed(found)

    def unreadable(self, url: str, expected: str) -> SourceError:
        """The error to raise when an answer of ``url`` is not the ``expected`` API shape."""
        return self.failed(SourceProblem(kind="unreadable", host=_host(url), expected=expected))

    def failed(self, found: SourceProblem) -> SourceError:
        """Keep ``found`` as the source's problem; the error says it in English for logs."""
        self.problem = found
        return SourceError(self.source, f"{problem(found, EN)} (after {self.attempts} attempts)")


def _host(url: str) -> str:
    return httpx.URL(url).host or url


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
