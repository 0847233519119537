"""Drafts for a tender the founder picked: bid/no-bid memo, answer outline, cover letter.

The facts (fit, deadline, value, lots, criteria, risks) and the outline's structure are
plain code. The memo is for the founder: in the reader's language when the run knows it.
The outline and the letter answer the buyer: in the notice's language (French or English;
other languages get English and a note). Only the memo's recommendation and the letter
are prose from ``ctx.write``:
the model when there is one, the templates in ``wording`` on the offline model, and the
draft says which.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.workflow import WorkflowContext
from workflows.tenders.matching import Match, money, total_value
from workflows.tenders.model import Criterion, Lot, Tender
from workflows.tenders.phrases import phrases
from workflows.tenders.wording import EN, LANGUAGES, Wording, why, wording, words_for

__all__ = ["Draft", "Drafter"]

_NOTICE_CHARS = 6000  # enough of a notice for a memo; the full text can be very long
_KINDS_FR = {"quality": "qualité", "price": "prix", "cost": "coût"}
# Procedure codes (eForms', and BOAMP's and TED's as read) as a French memo says them.
_PROCEDURES_FR = {
    "open": "ouverte", "restricted": "restreinte", "adapted": "adaptée",
    "negotiated": "négociée", "neg-w-call": "négociée avec mise en concurrence",
    "neg-wo-call": "négociée sans mise en concurrence", "comp-dial": "dialogue compétitif",
    "competitive-dialogue": "dialogue compétitif", "innovation": "partenariat d'innovation",
    "design-contest": "concours", "oth-single": "autre (une étape)",
    "oth-mult": "autre (plusieurs étapes)",
}  # fmt: skip


class Draft(BaseModel):
    """The three drafts for one tender, as Markdown, and who wrote their prose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tender_id: str
    title: str
    language: str  # of the outline and the letter: the buyer's
    memo_language: str = ""  # when the memo, the founder's, is in another language
    notice_language: str = ""  # when it differs from ``language`` (no templates for it)
    note: str = ""  # e.g. the notice's language has no templates: drafted in English
    verdict: Literal["bid", "discuss", "no-bid"]
    recommendation: str  # the memo's judgement, for summaries
    memo: str
    outline: str
    letter: str
    by: str  # "template", or the model that wrote the prose


class Drafter:
    """Writes the drafts of one company: its name and what it sells sign every letter."""

    def __init__(self, ctx: WorkflowContext, *, company: str, where: tuple[str, ...]) -> None:
        self.ctx = ctx
        self.company = company
        self.sells = ctx.profile.sells if ctx.profile else ""
        self.where = where

    async def draft(self, found: Match, *, today: date, reader: str | None = None) -> Draft:
        """The drafts of one match; ``reader``: the founder's language, the memo's."""
        tender = found.tender
        words, note = wording(tender.language)
        mine = words_for(reader) if reader else words
        if note and reader:
            say = phrases(mine.code)
            name = say.languages.get(tender.language, tender.language)
            note = say.other_language.format(language=name)
        risks = self._risks(tender, mine, today)
        verdict = _verdict(found.score, risks)
        material = _material(found)
        judgement = await self.ctx.write(
            self._instructions(mine, "memo"),
            material,
            fallback=_verdict_text(verdict, mine).format(company=self.company),
        )
        letter = await self.ctx.write(
            self._instructions(words, "letter"),
            material,
            fallback=self._letter(tender, words),
        )
        noted = [f"_{note}_"] if note else []
        memo_header = _templated(noted, mine, judgement.by)
        memo = self._memo(found, mine, risks, judgement.text, memo_header, today)
        header = _templated(noted, words, letter.by)
        bys = dict.fromkeys(w.by for w in (judgement, letter))
        return Draft(
            tender_id=tender.id,
            title=tender.title,
            language=words.code,
            memo_language=mine.code if mine is not words else "",
            notice_language=tender.language if note else "",
            note=note,
            verdict=verdict,
            recommendation=judgement.text,
            memo=memo,
            outline=_outline(tender, words, header),
            letter="\n\n".join([f"# {words.letter} — {tender.title}", *header, letter.text]),
            by=", ".join(bys),
        )

    def _instructions(self, words: Wording, part: Literal["memo", "letter"]) -> str:
        language = LANGUAGES.get(words.code, words.code)
        who = f"You work for {self.company}, which sells {self.sells or 'its services'}."
        if part == "memo":
            labels = " or ".join(f"'{label}'" for label in words.labels)
            return (
                f"{who} Write the recommendation of a bid/no-bid memo on the public tender "
                f"described in the material, in {language}: first line {labels}, then three "
                "to five sentences on fit, effort and risks. Plain text, no heading, no invention: "
                "use only the facts given."
            )
        return (
            f"{who} Write the cover letter of its application to the public tender described "
            f"in the material, in {language}, under 250 words, plain text, formal, signed "
            f"{self.company}. Do not promise anything the material does not support."
        )

    def _memo(
        self,
        found: Match,
        words: Wording,
        risks: list[str],
        judgement: str,
        header: list[str],
        today: date,
    ) -> str:
        tender = found.tender
        value = total_value(tender)
        c, sep = (" :", " ; ") if words.code == "fr" else (":", "; ")
        shown = money(value, tender.currency, words.code) if value is not None else None
        facts = [
            f"- {words.buyer}{c} {tender.buyer or words.not_stated} ({tender.country or '?'})",
            f"- {words.reference}{c} {tender.id}"
            + (f" — {tender.links[0]}" if tender.links else ""),
            f"- {words.deadline}{c} {_deadline(tender, words, today)}",
            f"- {words.value}{c} {shown or words.not_stated}",
            f"- {words.procedure}{c} {_procedure(tender.procedure, words) or words.not_stated}",
            f"- CPV{c} {', '.join(tender.cpv) or words.not_stated}",
            f"- {words.fit}{c} {found.score}/100 — " + sep.join(why(found, words)),
        ]
        lots = [f"- {lot.id}: {lot.title or tender.title}" for lot in tender.lots]
        criteria = [_criterion(c, words) for c in tender.criteria] or [
            f"- {lot.id}: " + "; ".join(_criterion(c, words)[2:] for c in lot.criteria)
            for lot in tender.lots
            if lot.criteria
        ]
        parts = [
            f"# {words.memo} — {tender.title_in(words.code)}",
            *header,
            f"## {words.facts}",
            "\n".join(facts),
            f"## {words.lots}",
            "\n".join(lots) or f"- {words.single_lot}",
            f"## {words.criteria}",
            "\n".join(criteria) or words.no_criteria,
            f"## {words.risks}",
            "\n".join(f"- {r}" for r in risks) or words.no_risks,
            f"## {words.recommendation}",
            judgement,
        ]
        return "\n\n".join(parts)

    def _risks(self, tender: Tender, words: Wording, today: date) -> list[str]:
        risks = []
        if tender.deadline is None:
            risks.append(words.risk["unknown_deadline"])
        elif (days := (tender.deadline.date() - today).days) < 15:
            risks.append(words.risk["short"].format(days=days))
        if total_value(tender) is None:
            risks.append(words.risk["value"])
        criteria = list(tender.criteria) + [c for lot in tender.lots for c in lot.criteria]
        if not criteria:
            risks.append(words.risk["no_criteria"])
        share = _price_share(tender.criteria or (tender.lots[0].criteria if tender.lots else ()))
        if share is not None and share >= 0.5:
            risks.append(words.risk["price"].format(weight=round(share * 100)))
        if len(tender.lots) > 3:
            risks.append(words.risk["lots"].format(lots=len(tender.lots)))
        if self.where and tender.country and tender.country not in self.where:
            risks.append(words.risk["country"].format(country=tender.country))
        return risks

    def _letter(self, tender: Tender, words: Wording) -> str:
        lots = ""
        if tender.lots:
            lots = f" ({words.lots.lower()}: {', '.join(lot.id for lot in tender.lots)})"
        deadline = tender.deadline.date().isoformat() if tender.deadline else words.not_stated
        return words.letter_template.format(
            company=self.company,
            buyer=tender.buyer or words.not_stated,
            title=tender.title,
            reference=tender.notice_id,
            lots=lots,
            sells=self.sells or "—",
            deadline=deadline,
        )


def _outline(tender: Tender, words: Wording, header: list[str]) -> str:
    """One section per lot, one sub-section per award criterion with its weight."""
    parts = [f"# {words.outline} — {tender.title}", *header, f"## 1. {words.presentation}"]
    lots = tender.lots or (Lot(id="1", title=words.single_lot, criteria=tender.criteria),)
    for number, lot in enumerate(lots, start=2):
        title = lot.title or tender.title
        label = f"{words.lot} {lot.id}" if tender.lots else title
        parts.append(f"## {number}. {label}" + (f": {title}" if tender.lots else ""))
        if lot.description:
            parts.append(_clip(lot.description, 400))
        criteria = lot.criteria or tender.criteria
        if not criteria:
            parts.append(words.no_criteria)
        for index, criterion in enumerate(criteria, start=1):
            weight = f" ({criterion.weight:g})" if criterion.weight is not None else ""
            name = criterion.description or _kind(criterion.kind, words)
            parts.append(f"### {number}.{index} {_clip(name, 120)}{weight}")
            show = words.show.get(criterion.kind, words.show[""])
            parts.append("\n".join(f"- {item}" for item in show))
    parts.append(f"## {len(lots) + 2}. {words.admin}")
    return "\n\n".join(parts)


def _templated(header: list[str], words: Wording, by: str) -> list[str]:
    """A draft's header, with the note that templates wrote it when they did."""
    return [*header, words.templated] if by == "template" else header


def _criterion(criterion: Criterion, words: Wording) -> str:
    weight = f" — {criterion.weight:g}" if criterion.weight is not None else ""
    colon = " :" if words.code == "fr" else ":"
    line = f"- {_kind(criterion.kind, words)}{colon} {_clip(criterion.description, 160)}"
    return f"{line.rstrip(': ')}{weight}"


def _procedure(code: str | None, words: Wording) -> str | None:
    """A notice's procedure in the draft's language (its own words when not a known code)."""
    if code is None or words.code != "fr":
        return code
    return _PROCEDURES_FR.get(code, code)


def _kind(kind: str, words: Wording) -> str:
    """A criterion's kind (eForms' codes: quality, price, cost) in the draft's language."""
    return _KINDS_FR.get(kind, kind) if words.code == "fr" else kind


def _price_share(criteria: tuple[Criterion, ...]) -> float | None:
    weights = [c.weight for c in criteria]
    if not criteria or any(w is None for w in weights):
        return None
    total = sum(w or 0.0 for w in weights)
    price = sum(c.weight or 0.0 for c in criteria if c.kind in ("price", "cost"))
    return price / total if total else None


def _verdict(score: int, risks: list[str]) -> Literal["bid", "discuss", "no-bid"]:
    if score < 40:
        return "no-bid"
    return "bid" if score >= 60 and len(risks) <= 1 else "discuss"


def _verdict_text(verdict: str, words: Wording) -> str:
    return {"bid": words.bid, "discuss": words.discuss}.get(verdict, words.no_bid)


def _deadline(tender: Tender, words: Wording, today: date) -> str:
    if tender.deadline is None:
        return words.not_stated
    days = (tender.deadline.date() - today).days
    return f"{tender.deadline:%Y-%m-%d %H:%M} ({words.days.format(days=days)})"


def _material(found: Match) -> str:
    """What the model reads: the match's reasons and the notice (outside content)."""
    tender = found.tender
    lines = [
        f"Fit score: {found.score}/100 ({'; '.join(why(found, EN))})",
        # Other languages' texts would crowd the lots and criteria out of the clip.
        tender.model_dump_json(exclude={"links", "titles", "descriptions"}, exclude_none=True),
    ]
    return _clip("\n".join(lines), _NOTICE_CHARS)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
