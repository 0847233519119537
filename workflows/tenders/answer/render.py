"""The answer as Markdown, and the matrix as rows of cells, in the answer's language.

The same rows fill the Markdown table and the DOCX table, so both files say the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from workflows.tenders.answer.matrix import Row, Written
from workflows.tenders.answer.model import Deadline, Requirement
from workflows.tenders.answer.plan import Section
from workflows.tenders.answer.wording import Words

__all__ = ["answer_markdown", "cells", "criteria_lines", "deadline_text", "table"]

_CELL = 160  # characters of a requirement's wording in a table cell


def cells(row: Row, say: Words, width: int = _CELL) -> tuple[str, str, str, str, str, str]:
    """Id, kind, wording (``width`` characters at most), source, section, status."""
    r = row.requirement
    text = r.text if len(r.text) <= width else r.text[: width - 1].rstrip() + "…"
    return (
        r.id,
        say.kinds[r.kind],
        text,
        r.where.label(),
        row.section or "—",
        say.statuses[row.status],
    )


def table(rows: Sequence[Row], say: Words, width: int = _CELL) -> str:
    """The matrix as a Markdown table (pipes in the buyer's words escaped)."""
    head = "| " + " | ".join(say.columns) + " |"
    rule = "|" + "---|" * len(say.columns)
    body = [
        "| " + " | ".join(c.replace("|", "\\|") for c in cells(row, say, width)) + " |"
        for row in rows
    ]
    return "\n".join([head, rule, *body])


def deadline_text(deadline: Deadline | None, say: Words) -> str:
    if deadline is None:
        return say.no_deadline
    when = f"{deadline.at:%Y-%m-%d %H:%M}" if deadline.timed else f"{deadline.at:%Y-%m-%d}"
    return f"{when} — « {deadline.text} »" if say.code == "fr" else f"{when} — “{deadline.text}”"


def criteria_lines(requirements: Sequence[Requirement], say: Words) -> list[str]:
    """One line per criterion, sub-criteria indented, weights as written."""
    criteria = [r for r in requirements if r.kind == "criterion"]
    tops = [c for c in criteria if c.parent is None]
    lines = []
    for top in tops:
        lines.append(f"- {top.text} [{top.id}]")
        lines.extend(f"  - {c.text} [{c.id}]" for c in criteria if c.parent == top.id)
    return lines or [say.no_criteria]


def answer_markdown(
    title: str,
    deadline: Deadline | None,
    rows: Sequence[Row],
    sections: Sequence[Section],
    written: Sequence[Written],
    say: Words,
) -> str:
    """The whole answer: facts, matrix, then each section as drafted."""
    colon = " :" if say.code == "fr" else ":"
    requirements = [row.requirement for row in rows]
    texts = {w.section: w.text for w in written}
    parts = [
        f"# {title}",
        f"**{say.deadline}**{colon} {deadline_text(deadline, say)}",
        f"## {say.criteria}",
        "\n".join(criteria_lines(requirements, say)),
        f"## {say.matrix}",
        table(rows, say),
    ]
    for section in sections:
        level = "###" if "." in section.id else "##"
        weight = f" ({section.weight:g})" if section.weight is not None else ""
        parts.append(f"{level} {section.id}. {section.title}{weight}")
        parts.append(texts.get(section.id, say.fill_in))
    return "\n\n".join(parts) + "\n"
