"""A file's lines joined back into sentences and list items, each where it stands.

PDF text breaks lines mid-sentence; a sentence is rebuilt across lines of one section and
ends at ``.``, ``;`` or ``:`` at a line's end, or where a list item or a heading starts.
A sentence ending with ``:`` that introduces a list keeps its items (``lead``), so "les
documents doivent être dans l'un des formats suivants :" is read with the formats.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from workflows.tenders.answer.outline import Line

__all__ = ["Sentence", "sentences_of", "with_items"]

_BULLET = re.compile(r"^(?:[-–−•▪◦*●]|\d{1,2}[)]|[a-h][).]|\(?[ivx]{1,4}\))\s+", re.I)
_END = re.compile(r"[.;:!?]$|[.;:]\s*[»\"]$")
_SPLIT = re.compile(r"(?<=[a-zà-ÿ0-9\)»])\.\s+(?=[A-ZÀ-Ý«])")
_LONGEST = 600


class Sentence(BaseModel):
    """A sentence or list item, with the page and section of its first line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    page: int | None
    section: str
    heading: str
    item: bool = False  # a list item
    lead: bool = False  # ends with ":" and is followed by items


def sentences_of(lines: list[Line]) -> list[Sentence]:
    """The sentences of ``lines``, in order; headings are not sentences."""
    out: list[Sentence] = []
    parts: list[str] = []
    first: Line | None = None
    item = False

    def close() -> None:
        nonlocal parts, first
        if first is not None and parts:
            joined = " ".join(" ".join(parts).split())
            for piece in _SPLIT.split(joined) if not item else [joined]:
                out.append(
                    Sentence(
                        text=piece[:_LONGEST],
                        page=first.page,
                        section=first.section,
                        heading=first.heading,
                        item=item,
                    )
                )
        parts, first = [], None

    for line in lines:
        if line.is_heading:
            close()
            continue
        bullet = _BULLET.match(line.text)
        if bullet or (first is not None and first.section != line.section):
            close()
        if first is None:
            first, item = line, bool(bullet)
        parts.append(line.text[bullet.end() :] if bullet else line.text)
        if _END.search(line.text):
            close()
    close()
    return [
        s.model_copy(update={"lead": True})
        if s.text.endswith(":") and index + 1 < len(out) and out[index + 1].item
        else s
        for index, s in enumerate(out)
    ]


def with_items(sentences: list[Sentence], index: int, limit: int = 500) -> str:
    """The sentence at ``index``, and its list's items when it leads one."""
    sentence = sentences[index]
    if not sentence.lead:
        return sentence.text
    items = []
    for following in sentences[index + 1 :]:
        if not following.item:
            break
        items.append(following.text.rstrip(" ;."))
    text = f"{sentence.text} {'; '.join(items)}"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
