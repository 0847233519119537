"""Export tender drafts as Markdown and DOCX files the founder can edit and send.

One Markdown and one DOCX file per tender, named from the tender id so a second export
of the same drafts overwrites the first (an approval resumed twice writes nothing new).
Files are written whole to a temporary name, then renamed: no half-written export.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workflows.tenders.drafts import Draft

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

__all__ = ["export", "file_stem", "planned", "save_docx", "write_whole"]


def file_stem(tender_id: str) -> str:
    """'ted:123456-2024' -> 'tender-ted-123456-2024': safe on every file system."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", tender_id).strip(".-")[:80]
    return f"tender-{safe or 'notice'}"


def planned(drafts: Sequence[Draft], folder: Path) -> list[Path]:
    """The files ``export`` will write, for the approval question."""
    return [folder / f"{file_stem(d.tender_id)}.{ext}" for d in drafts for ext in ("md", "docx")]


def export(drafts: Sequence[Draft], folder: Path) -> list[Path]:
    """Write each draft as ``<stem>.md`` and ``<stem>.docx`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for draft in drafts:
        stem = file_stem(draft.tender_id)
        text = markdown(draft)
        written.append(write_whole(folder / f"{stem}.md", text.encode()))
        written.append(_docx(folder / f"{stem}.docx", draft))
    return written


def markdown(draft: Draft) -> str:
    """The memo, the outline and the letter, one after the other."""
    return "\n\n---\n\n".join([draft.memo, draft.outline, draft.letter]) + "\n"


def _docx(path: Path, draft: Draft) -> Path:
    # Imported here: only an approved export needs python-docx.
    from docx import Document
    from docx.enum.text import WD_BREAK

    document = Document()
    document.core_properties.title = draft.title
    document.core_properties.language = draft.language
    for number, part in enumerate((draft.memo, draft.outline, draft.letter)):
        if number:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        for block in part.split("\n\n"):
            _block(document, block)
    return save_docx(document, path)


def _block(document: DocxDocument, block: str) -> None:
    """One Markdown block of our own drafts: a heading, a list or a paragraph."""
    heading = re.match(r"^(#{1,3}) (.+)$", block)
    if heading:
        document.add_heading(heading.group(2), level=len(heading.group(1)) - 1)
        return
    lines = block.split("\n")
    if all(line.startswith("- ") for line in lines):
        for line in lines:
            document.add_paragraph(line[2:], style="List Bullet")
        return
    paragraph = document.add_paragraph()
    for index, line in enumerate(lines):
        if index:
            paragraph.add_run().add_break()
        # A line wrapped in underscores is a note (template, language): set it in italics.
        note = len(line) > 2 and line.startswith("_") and line.endswith("_")
        paragraph.add_run(line[1:-1] if note else line).italic = note or None


def write_whole(path: Path, data: bytes) -> Path:
    """``data`` at ``path``, written under a temporary name then renamed: never half there."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path


def save_docx(document: DocxDocument, path: Path) -> Path:
    """``document`` saved at ``path`` the same way, whole or not at all."""
    temporary = path.with_suffix(".docx.tmp")
    document.save(str(temporary))
    temporary.replace(path)
    return path
