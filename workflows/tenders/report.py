"""What a tender watch run hands back: the ranked list, changes, failures, drafts, files.

``TendersOutput.summary()`` is the Markdown the founder (or the agent that started the
run) reads, in ``language`` (see ``phrases``); everything in it is also in the model's
fields for programs. It ends with every notice read and what became of it (``account``),
so "why is this one not there?" has its answer in the thread; ``why(id)`` gives one.
Titles are shown in the reader's language when the notice has it, else in its own.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.config import TenderProfile
from workflows.tenders.account import Account, account_lines, explanation
from workflows.tenders.drafts import Draft
from workflows.tenders.matching import Match, Rejection, money, total_value
from workflows.tenders.phrases import Phrases, differences, phrases, problem
from workflows.tenders.seen import Change
from workflows.tenders.sources import SourceFailure
from workflows.tenders.wording import why, words_for

__all__ = ["TendersOutput"]

_LISTED = 10  # matches shown in full; the others are counted
_NAMES = {"ted": "TED", "boamp": "BOAMP"}


class TendersOutput(BaseModel):
    """One run of the tender watch."""

    model_config = ConfigDict(extra="forbid")

    today: date
    language: Literal["fr", "en"] = "en"  # of the summary; drafts follow their notice
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
    notices: list[Account] = []  # every notice read, and what became of it
    explain: list[str] = []  # ids the founder asked about: explained in full
    profile: TenderProfile | None = None  # the profile the run matched on

    def summary(self) -> str:
        """Markdown for the founder, in ``language``."""
        say = phrases(self.language)
        lines = [say.title.format(today=self.today.isoformat()), ""]
        lines += self._header(say)
        lines += self._ranked(say)
        if self.upcoming:
            lines += ["", say.upcoming.format(n=len(self.upcoming))]
            lines += [f"- {_line(m, say)}" for m in self.upcoming]
        if self.changes:
            lines += ["", say.changed_head.format(n=len(self.changes))]
            lines += [_change(c, say) for c in self.changes]
        lines += self._drafts(say)
        lines += self._explained(say)
        if self.notices:
            lines += ["", say.every_notice.format(n=len(self.notices))]
            lines += account_lines(self.notices, say)
        return "\n".join(lines).rstrip() + "\n"

    def why(self, notice: str) -> str:
        """Why one notice (``ted:…`` or its bare id) fared as it did, in ``language``."""
        say = phrases(self.language)
        found = self._find([notice])
        if not found:
            return say.explain_missing.format(ids=notice)
        return "\n".join(explanation(found[0], self.profile or TenderProfile(), say))

    def _find(self, ids: list[str]) -> list[Account]:
        wanted = set(ids)
        return [a for a in self.notices
                if a.tender_id in wanted or a.tender_id.partition(":")[2] in wanted]  # fmt: skip

    def _explained(self, say: Phrases) -> list[str]:
        if not self.explain:
            return []
        found = self._find(self.explain)
        lines = ["", say.explained]
        for account in found:
            lines += explanation(account, self.profile or TenderProfile(), say)
        known = {a.tender_id for a in found} | {a.tender_id.partition(":")[2] for a in found}
        missing = [i for i in self.explain if i not in known]
        if missing:
            lines.append(say.explain_missing.format(ids=", ".join(missing)))
        return lines

    def question(self, files: list[str]) -> str:
        """The approval question: this summary, then the files an export would write."""
        say = phrases(self.language)
        listing = "\n".join(f"- {path}" for path in files)
        return f"{self.summary()}\n{say.ask}\n{listing}"

    def _header(self, say: Phrases) -> list[str]:
        lines = []
        if self.failures:
            failed = say.sep.join(_failure(f, say) for f in self.failures)
            if {f.source for f in self.failures} >= set(self.fetched):
                lines += [say.no_results.format(failed=failed), ""]
            else:
                lines += [say.partial.format(failed=failed), ""]
        where = say.bundled_where if self.bundled else say.live_where
        counts = ", ".join(f"{_NAMES.get(k, k)} {v}" for k, v in sorted(self.fetched.items()))
        count = sum(self.fetched.values())
        lines.append(say.read.format(count=count, where=where,
                                     counts=f" ({counts})" if counts else ""))  # fmt: skip
        tally = [say.new.format(n=len(self.ranked))]
        if self.repeated:
            tally.append(say.repeated.format(n=self.repeated))
        if self.rejected:
            tally.append(say.rejected.format(n=len(self.rejected)))
        if self.unpublished:
            tally.append(say.unpublished.format(n=self.unpublished, today=self.today))
        lines.append(say.sep.join(tally) + ".")
        lines += [f"_{note}_" for note in self.notes]
        return lines

    def _ranked(self, say: Phrases) -> list[str]:
        if not self.ranked:
            return ["", say.nothing_new]
        words = words_for(self.language)
        lines = ["", say.ranked]
        for number, found in enumerate(self.ranked[:_LISTED], start=1):
            lines.append(f"{number}. {_line(found, say)}")
            lines.append(f"   {say.why}{_colon(say)} {say.sep.join(why(found, words))}")
            if found.tender.links:
                lines.append(f"   {found.tender.links[0]}")
        if len(self.ranked) > _LISTED:
            lines.append(say.more.format(n=len(self.ranked) - _LISTED))
        return lines

    def _drafts(self, say: Phrases) -> list[str]:
        lines: list[str] = []
        if self.missing:
            lines += ["", say.missing + ", ".join(self.missing)]
        if not self.drafts:
            return lines
        lines += ["", say.drafts.format(n=len(self.drafts))]
        for draft in self.drafts:
            language = say.languages.get(draft.language, draft.language)
            made = (
                say.from_templates
                if "template" in draft.by
                else say.by_model.format(model=draft.by)
            )
            verdict = say.verdicts[draft.verdict]
            line = say.draft_line.format(
                title=draft.title, id=draft.tender_id, verdict=verdict, language=language, made=made
            )
            lines.append(line)
            if draft.note:
                notice = say.languages.get(draft.notice_language, draft.notice_language)
                lines.append("  " + say.other_language.format(language=notice))
            recommendation = _clip(draft.recommendation, 500)
            lines.append(f"  {say.recommendation}{_colon(say)} {recommendation}")
        if self.export == "approved":
            lines += ["", say.exported] + [f"- {path}" for path in self.files]
        elif self.export == "rejected":
            note = f" ({self.export_note})" if self.export_note else ""
            lines += ["", say.refused.format(why=note)]
        elif self.export == "pending":
            lines += ["", say.pending]
        return lines


def _colon(say: Phrases) -> str:
    """':' in English, ' :' in French (a space before the colon)."""
    return " :" if say.code == "fr" else ":"


def _line(found: Match, say: Phrases) -> str:
    tender = found.tender
    value = total_value(tender)
    deadline = f"{tender.deadline:%Y-%m-%d}" if tender.deadline else ""
    parts = [
        f"**{found.score}/100** {tender.title_in(say.code)}",
        f"{tender.buyer or say.no_buyer} ({tender.country or '?'})",
        say.deadline.format(day=deadline) if deadline else say.no_deadline,
        money(value, tender.currency, say.code) if value is not None else say.no_value,
        f"`{tender.id}`",
    ]
    return " — ".join(parts)


def _failure(failure: SourceFailure, say: Phrases) -> str:
    tries = say.tries.format(n=failure.attempts) if failure.attempts else ""
    source = _NAMES.get(failure.source, failure.source)
    return say.failed.format(source=source, tries=tries, reason=problem(failure.problem, say))


def _change(change: Change, say: Phrases) -> str:
    if change.status == "cancelled":
        head = f"- ~~{change.title}~~ **{say.cancelled}**"
    else:
        head = f"- {change.title}{_colon(say)} **{say.changed}**"
    when = say.first_reported.format(day=change.first_reported) if change.first_reported else ""
    link = f" {change.tender.links[0]}" if change.tender.links else ""
    changes = say.sep.join(line for c in change.changes for line in differences(c, say))
    return f"{head} — {changes} (`{change.tender.id}`{when}){link}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
