"""Why a tender source failed, as data: ``phrases`` says it in the report's language.

The fetcher builds one ``SourceProblem`` per failed request (timeout, connection error,
an HTTP status, an answer it cannot read, an address or redirect refused) and keeps the
last one; the run's report shows
it as ``SourceFailure.problem``. It names a host, a status or an error class, never
headers or bodies, so it carries no secrets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ProblemKind", "SourceProblem"]

ProblemKind = Literal[
    "timeout", "http_status", "connection", "unreadable", "private_address", "redirect"
]


class SourceProblem(BaseModel):
    """One failure of a source; the fields its ``kind`` uses are filled, the others empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ProblemKind
    host: str = ""
    status: int | None = None  # http_status: the answer's status code
    # connection: the transport error's class name (ConnectError...); redirect: the host
    # it pointed to; private_address: the host refused
    error: str = ""
    expected: str = ""  # unreadable: the API shape the answer should have had
