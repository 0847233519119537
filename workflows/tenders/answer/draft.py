"""The answer drafted section by section, from the company's profile and memory.

Each section that argues (presentation, a criterion, compliance) is prose from
``ctx.write``: the model, given the section's requirements with their ids and the facts
the company's memory holds on them, writes in the consultation's language and cites the
ids it answers; on the offline model the section is a skeleton (the requirements to
answer, the facts found) and says so. The price, the documents to hand in and the
submission checklist are lists built in code.
"""

from __future__ import annotations

from collections.abc import Sequence

from equipage.memory import Memory
from equipage.workflow import WorkflowContext
from workflows.tenders.answer.matrix import Written
from workflows.tenders.answer.model import Extraction, Requirement
from workflows.tenders.answer.plan import Section
from workflows.tenders.answer.wording import Words

__all__ = ["Drafter"]

_MATERIAL_CHARS = 12_000  # of requirements per section shown to the model
_FACTS = 6


class Drafter:
    """Drafts the sections of one company's answer to one consultation."""

    def __init__(self, ctx: WorkflowContext, extraction: Extraction, say: Words) -> None:
        self.ctx = ctx
        self.say = say
        self.extraction = extraction
        self.by_id = {r.id: r for r in extraction.requirements}
        self.memory = Memory(ctx.redis, ctx.keys)
        profile = ctx.profile
        self.company = ctx.company_name or ctx.company.replace("-", " ").title()
        self.profile_lines = [
            _fact(say, self.company, profile.sells) if profile else self.company,
            *([profile.description] if profile and profile.description else []),
            *(
                [_fact(say, say.countries, ", ".join(profile.where))]
                if profile and profile.where
                else []
            ),
        ]

    async def section(self, section: Section) -> Written:
        """The section's text; prose from the model where the section argues."""
        needs = [self.by_id[i] for i in section.requirements if i in self.by_id]
        if section.kind == "price":
            return Written(section=section.id, text=self._price(needs), by="template")
        if section.kind in ("pieces", "submission"):
            return Written(section=section.id, text=self._checklist(section, needs), by="template")
        query = " ".join([section.title, *(r.text for r in needs[:20])])
        facts = [f.text for f in await self.memory.recall(query, limit=_FACTS)]
        if section.kind == "presentation":
            facts = [*self.profile_lines, *facts]
        written = await self.ctx.write(
            self._instructions(section),
            _material(section, needs, facts),
            fallback=self._skeleton(needs, facts),
        )
        by = "template" if written.by.startswith("template") else written.by
        return Written(section=section.id, text=written.text, by=by, facts=len(facts))

    def _instructions(self, section: Section) -> str:
        sells = self.ctx.profile.sells if self.ctx.profile else "its services"
        return (
            f"You work for {self.company}, which sells {sells}. Write section {section.id} "
            f"'{section.title}' of its answer to a public call for tenders, in "
            f"{self.say.language}. Answer each requirement of the material and cite its id in "
            "square brackets where you answer it, e.g. [RC-CRI-05]. Use only the company's "
            f"facts given; where a fact is missing, write {self.say.fill_in} rather than "
            "invent one. Plain paragraphs, no heading, at most 450 words."
        )

    def _skeleton(self, needs: Sequence[Requirement], facts: Sequence[str]) -> str:
        say = self.say
        parts = [say.templated, f"{say.to_address} :" if say.code == "fr" else f"{say.to_address}:"]
        parts.append("\n".join(f"- [{r.id}] {r.text}" for r in needs) or "- —")
        parts.append(f"{say.facts} :" if say.code == "fr" else f"{say.facts}:")
        parts.append("\n".join(f"- {fact}" for fact in facts) or say.no_facts)
        return "\n\n".join(parts)

    def _price(self, needs: Sequence[Requirement]) -> str:
        schedules = [
            r
            for r in self.extraction.of("document")
            if r.name in ("DPGF", "BPU", "DQE", "Catalogue tarifaire")
        ]
        lines = [f"- [{r.id}] {r.text}" for r in needs]
        colon = " :" if self.say.code == "fr" else ":"
        pieces = ", ".join(f"{r.name} [{r.id}]" for r in schedules) or self.say.fill_in
        return "\n\n".join([f"{self.say.price_in}{colon} {pieces}.", "\n".join(lines)])

    def _checklist(self, section: Section, needs: Sequence[Requirement]) -> str:
        say = self.say
        lines = []
        if section.kind == "submission":
            due = self.extraction.deadline
            shown = (
                f"{due.at:%Y-%m-%d %H:%M}"
                if due and due.timed
                else (f"{due.at:%Y-%m-%d}" if due else say.no_deadline)
            )
            lines.append(f"- {say.deadline}{' :' if say.code == 'fr' else ':'} {shown}")
        for r in needs:
            label = r.name or r.text
            lines.append(f"- [ ] [{r.id}] {label} — {r.where.label()}")
        return "\n".join(lines) or "- —"


def _fact(say: Words, name: str, value: str) -> str:
    """``name: value``, with the space French puts before the colon."""
    return f"{name} : {value}" if say.code == "fr" else f"{name}: {value}"


def _material(section: Section, needs: Sequence[Requirement], facts: Sequence[str]) -> str:
    """What the model reads: the requirements (the buyer's words) and the company's facts."""
    lines = [f"Section {section.id}: {section.title}", "Requirements:"]
    size = 0
    for r in needs:
        weight = f" (weight {r.weight:g})" if r.weight is not None else ""
        line = f"- [{r.id}] {r.text}{weight} — {r.where.label()}"
        size += len(line)
        if size > _MATERIAL_CHARS:
            break
        lines.append(line)
    lines.append("Company facts:")
    lines.extend(f"- {fact}" for fact in facts)
    return "\n".join(lines)
