"""What a tender watch run hands back: the ranked list, changes, failures, drafts, files.

``TendersOutput.summary()`` is the Markdown the founder (or the agent that started the
run) reads; everything in it is also in the model's fields for programs.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workflows.tenders.drafts import Draft
from workflows.tenders.matching import Match, Rejection, money, total_value
from workflows.tenders.seen import Change
from workflows.tenders.sources import SourceFailure

__all__ = ["TendersOutput"]

_LISTED = 10  # matches shown in full; the others are counted
_NAMES = {"ted": "TED", "boamp": "BOAMP"}
_VERDICTS = {"bid": "bid", "discuss": "to discuss", "no-bid": "no bid"}


class TendersOutput(BaseModel):
    """One run of the tender watch."""

    model_config = ConfigDict(extra="forbid")

    today: date
    bundled: bool = False
    fetched: dict[str, int] = {}
    failures: list[SourceFailure] = []
    unpublished: int = 0  # bundled notices published after ``today``, left out
    ranked: list[Match] = []
    upcoming: list[Match] = []
    rejected: list[Rejection] = []
    changes: list[Change] = []
    repeated: int = 0
    drafts: list[Draft] = []
    missing: list[str] = []  # ids the founder picked that no source returned
    export: Literal["none", "pending", "approved", "rejected"] = "none"
    export_note: str = ""
    files: list[str] = []
    notes: list[str] = []

    def summary(self) -> str:
        """Markdown for the founder."""
        lines = [f"**Tender watch — {self.today.isoformat()}**", ""]
        lines += self._header()
        lines += self._ranked()
        if self.upcoming:
            lines += ["", f"**Coming soon** (prior information, {len(self.upcoming)})"]
            lines += [f"- {_line(m)}" for m in self.upcoming]
        if self.changes:
            lines += ["", f"**Notices already reported that changed** ({len(self.changes)})"]
            lines += [_change(c) for c in self.changes]
        lines += self._drafts()
        return "\n".join(lines).rstrip() + "\n"

    def _header(self) -> list[str]:
        lines = []
        if self.failures:
            failed = "; ".join(_failure(f) for f in self.failures)
            if {f.source for f in self.failures} >= set(self.fetched):
                lines += [f"⚠️ No results: every source failed. {failed}.", ""]
            else:
                lines += [f"⚠️ Partial results: {failed}. What follows comes from the other "
                          "sources only.", ""]  # fmt: skip
        where = "the notices bundled with Equipage" if self.bundled else "TED and BOAMP"
        counts = ", ".join(f"{_NAMES.get(k, k)} {v}" for k, v in sorted(self.fetched.items()))
        lines.append(f"Read {sum(self.fetched.values())} notice(s) from {where}"
                     + (f" ({counts})" if counts else "") + ".")  # fmt: skip
        tally = [f"{len(self.ranked)} new match(es)"]
        if self.repeated:
            tally.append(f"{self.repeated} already reported (not repeated)")
        if self.rejected:
            tally.append(f"{len(self.rejected)} ruled out")
        if self.unpublished:
            tally.append(f"{self.unpublished} published after {self.today} left out")
        lines.append("; ".join(tally) + ".")
        lines += [f"_{note}_" for note in self.notes]
        return lines

    def _ranked(self) -> list[str]:
        if not self.ranked:
            return ["", "No new tender matches the profile this time."]
        lines = ["", "**New matches, best first**"]
        for number, found in enumerate(self.ranked[:_LISTED], start=1):
            lines.append(f"{number}. {_line(found)}")
            lines.append(f"   Why: {'; '.join(found.reasons)}")
            if found.tender.links:
                lines.append(f"   {found.tender.links[0]}")
        if len(self.ranked) > _LISTED:
            lines.append(f"… and {len(self.ranked) - _LISTED} more (scores below the above).")
        return lines

    def _drafts(self) -> list[str]:
        lines: list[str] = []
        if self.missing:
            lines += ["", "Not found among the notices read: " + ", ".join(self.missing)]
        if not self.drafts:
            return lines
        lines += ["", f"**Drafts** ({len(self.drafts)})"]
        for draft in self.drafts:
            language = {"fr": "French", "en": "English"}.get(draft.language, draft.language)
            made = "from templates" if "template" in draft.by else f"by {draft.by}"
            lines.append(
                f"- {draft.title} (`{draft.tender_id}`): {_VERDICTS[draft.verdict]}. Memo, "
                f"answer outline and cover letter in {language}, {made}."
            )
            if draft.note:
                lines.append(f"  {draft.note}")
            lines.append(f"  Recommendation: {_clip(draft.recommendation, 500)}")
        if self.export == "approved":
            lines += ["", "Exported:"] + [f"- {path}" for path in self.files]
        elif self.export == "rejected":
            why = f" ({self.export_note})" if self.export_note else ""
            lines += ["", f"Export refused{why}: no file was written."]
        elif self.export == "pending":
            lines += ["", "Approve to export them as Markdown and DOCX."]
        return lines


def _line(found: Match) -> str:
    tender = found.tender
    value = total_value(tender)
    parts = [
        f"**{found.score}/100** {tender.title}",
        f"{tender.buyer or 'buyer not stated'} ({tender.country or '?'})",
        f"deadline {tender.deadline:%Y-%m-%d}" if tender.deadline else "no deadline stated",
        money(value, tender.currency) if value is not None else "value not stated",
        f"`{tender.id}`",
    ]
    return " — ".join(parts)


def _failure(failure: SourceFailure) -> str:
    tries = "" if "attempt" in failure.reason else f" after {failure.attempts} attempt(s)"
    return f"{_NAMES.get(failure.source, failure.source)} failed{tries}: {failure.reason}"


def _change(change: Change) -> str:
    if change.status == "cancelled":
        head = f"- ~~{change.title}~~ **cancelled**"
    else:
        head = f"- {change.title}: **changed**"
    when = f", first reported {change.first_reported}" if change.first_reported else ""
    link = f" {change.tender.links[0]}" if change.tender.links else ""
    return f"{head} — {'; '.join(change.changes)} (`{change.tender.id}`{when}){link}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
