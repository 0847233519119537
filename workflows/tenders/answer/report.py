"""What the founder reads after a run: the deadline, the criteria, the matrix's first rows.

In the founder's language; the requirements quoted stay in the consultation's words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from equipage.refusal_text import refusal_text
from workflows.tenders.answer.matrix import Row, Written
from workflows.tenders.answer.model import Deadline, Requirement
from workflows.tenders.answer.plan import Section
from workflows.tenders.answer.read import Unread
from workflows.tenders.answer.render import criteria_lines, deadline_text, table
from workflows.tenders.answer.wording import Words, words

__all__ = ["AnswerOutput", "weight_notes"]

_SHOWN = 12  # rows of the matrix in the chat report


class AnswerOutput(BaseModel):
    """The requirements read, the matrix, the drafted sections and the files written."""

    model_config = ConfigDict(extra="forbid")

    language: str = "en"  # of this report: the founder's
    answer_language: str = "fr"  # of the answer: the consultation's
    documents: list[str] = []
    unread: list[Unread] = []
    deadline: Deadline | None = None
    rows: list[Row] = []
    sections: list[Section] = []
    written: list[Written] = []
    files: list[str] = []
    by: str = ""  # who wrote the prose: models, or "template"
    refused: str | None = None

    def summary(self) -> str:
        """The report, as Markdown."""
        say = words(self.language)
        colon = " :" if say.code == "fr" else ":"
        parts = [f"# {say.title}"]
        if self.documents:
            parts.append(f"{say.read}{colon} {', '.join(self.documents)}")
        # A refusal keeps its English for the logs; the founder reads it in their language.
        parts.extend(
            f"{say.unread}{colon} {u.name} — {refusal_text(u.reason, say.code)}"
            for u in self.unread
        )
        if self.refused:
            parts.append(self.refused)
            return "\n\n".join(parts)
        requirements = [row.requirement for row in self.rows]
        kinds = Counter(say.kinds[r.kind] for r in requirements)
        statuses = Counter(say.statuses[row.status] for row in self.rows)
        parts += [
            f"**{say.deadline}**{colon} {deadline_text(self.deadline, say)}",
            f"## {say.criteria}",
            "\n".join(criteria_lines(requirements, say)),
            *weight_notes(requirements, say),
            f"{say.counts}{colon} "
            + ", ".join(f"{n} × {k}" for k, n in kinds.items())
            + " — "
            + ", ".join(f"{n} × {s}" for s, n in statuses.items()),
            f"## {say.sample}",
            table(_sample(self.rows), say, width=90),  # a chat is narrower than a file
        ]
        if len(self.rows) > _SHOWN:
            parts.append(say.more_rows.format(count=len(self.rows) - _SHOWN))
        if self.by:
            by = ", ".join(say.template if b == "template" else b for b in self.by.split(", "))
            parts.append(f"{say.by}{colon} {by}")
        if self.files:
            parts.append(f"{say.files}{colon}\n" + "\n".join(f"- `{f}`" for f in self.files))
        return "\n\n".join(parts)


def _sample(rows: Sequence[Row]) -> list[Row]:
    """A dozen rows that show every kind: criteria, documents, dates, formats, obligations."""
    by_kind: dict[str, list[Row]] = {}
    for row in rows:
        by_kind.setdefault(row.requirement.kind, []).append(row)
    picked: list[Row] = []
    while len(picked) < min(_SHOWN, len(rows)):
        for kind in ("criterion", "document", "deadline", "format", "obligation"):
            if by_kind.get(kind) and len(picked) < _SHOWN:
                picked.append(by_kind[kind].pop(0))
    order = {id(row): index for index, row in enumerate(rows)}
    return sorted(picked, key=lambda row: order[id(row)])


def weight_notes(requirements: Sequence[Requirement], say: Words) -> list[str]:
    """A note for each set of weights that does not add up (a misread, or the file's own)."""
    criteria = [r for r in requirements if r.kind == "criterion" and r.weight is not None]
    notes = []
    tops = [c for c in criteria if c.parent is None]
    sets: dict[tuple[str, str], list[Requirement]] = {}
    for top in tops:  # one set per file and section: a notice's lots each have theirs
        sets.setdefault((top.where.code, top.where.section), []).append(top)
    for found in sets.values():
        total = sum(c.weight or 0 for c in found)
        if "%" in found[0].text and abs(total - 100) > 0.01:
            notes.append(say.weights_off.format(name=say.criteria, found=total, expected=100))
    for top in tops:
        subs = [c.weight or 0 for c in criteria if c.parent == top.id]
        if subs and top.weight is not None and abs(sum(subs) - top.weight) > 0.01:
            notes.append(
                say.weights_off.format(name=top.name, found=sum(subs), expected=top.weight)
            )
    return notes
