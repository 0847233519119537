"""Every notice a run read, accounted for: matched, coming, ruled out and why, award, seen.

A founder who wonders why a notice is not in the list finds it here with the reason, in
the report's language; ``explain`` (the run's input) gives a few notices in full, with
what the profile would need to change for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.config import TenderProfile
from workflows.tenders.matching import Match, Reason, Rejection
from workflows.tenders.model import NoticeKind, Tender
from workflows.tenders.phrases import Phrases
from workflows.tenders.seen import Change
from workflows.tenders.wording import say, words_for

__all__ = ["Account", "Status", "account_for", "account_lines", "explanation"]

Status = Literal[
    "matched", "upcoming", "ruled_out", "award", "cancellation", "changed", "seen",
    "same_procedure", "unpublished",
]  # fmt: skip


_NOT_OPPORTUNITIES: dict[str, Status] = {"award": "award", "cancellation": "cancellation"}


class Account(BaseModel):
    """What became of one notice in this run, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tender_id: str
    title: str
    titles: dict[str, str] = {}
    status: Status
    reason: Reason | None = None  # why it was ruled out (awards and cancellations too)
    score: int | None = None  # a match's score
    cpv: tuple[str, ...] = ()

    def title_in(self, language: str) -> str:
        return self.titles.get(language) or self.title


def account_for(
    tenders: Iterable[Tender],
    *,
    ranked: Sequence[Match],
    upcoming: Sequence[Match],
    rejected: Sequence[Rejection],
    changes: Sequence[Change],
    seen: Iterable[str],
    unpublished: Iterable[Tender] = (),
) -> list[Account]:
    """One Account per notice read, in the order read; the unpublished ones last."""
    matched: dict[str, tuple[Status, int]] = {m.tender.id: ("matched", m.score) for m in ranked}
    matched |= {m.tender.id: ("upcoming", m.score) for m in upcoming}
    ruled = {r.tender_id: r.reason for r in rejected}
    changed = {c.tender.id for c in changes}
    repeated = set(seen)
    found = []
    for tender in tenders:
        status: Status
        reason, score = ruled.get(tender.id), None
        if tender.id in matched:
            status, score = matched[tender.id]
        elif reason is not None:
            status = _NOT_OPPORTUNITIES.get(reason.code, "ruled_out")
        elif tender.id in changed:
            status = "changed"
        elif tender.id in repeated:
            status = "seen"
        elif tender.kind is NoticeKind.AWARD:
            status, reason = "award", Reason(code="award")
        elif tender.kind is NoticeKind.CANCELLATION:
            status, reason = "cancellation", Reason(code="cancellation")
        else:
            status = "same_procedure"  # another notice of its procedure was judged for it
        found.append(_account(tender, status, reason, score))
    found += [_account(t, "unpublished", None, None) for t in unpublished]
    return found


def _account(tender: Tender, status: Status, reason: Reason | None, score: int | None) -> Account:
    return Account(tender_id=tender.id, title=tender.title, titles=tender.titles,
                   status=status, reason=reason, score=score, cpv=tender.cpv)  # fmt: skip


def account_lines(accounts: Sequence[Account], say_: Phrases) -> list[str]:
    """One line per notice: its title in the reader's language, its id, what became of it."""
    return [f"- {a.title_in(say_.code)} (`{a.tender_id}`) — {_status(a, say_)}" for a in accounts]


def explanation(account: Account, profile: TenderProfile, say_: Phrases) -> list[str]:
    """A notice in full: its fate, its CPV codes against the profile's, how to change it."""
    title = account.title_in(say_.code)
    colon = " :" if say_.code == "fr" else ":"  # French puts a space before the colon
    lines = [f"- **{title}** (`{account.tender_id}`){colon} {_status(account, say_)}"]
    codes = ", ".join(account.cpv) or "—"
    lines.append("  " + say_.explain_codes.format(
        codes=codes, cpv=", ".join(profile.cpv) or "—",
        keywords=", ".join(profile.keywords) or "—",
    ))  # fmt: skip
    if account.status == "ruled_out":
        lines.append("  " + say_.explain_rerun)
    return lines


def _status(account: Account, say_: Phrases) -> str:
    sentence = say_.statuses[account.status]
    reason = say(account.reason, words_for(say_.code)) if account.reason else ""
    return sentence.format(score=account.score, reason=reason)
