"""The answer written as Markdown and DOCX, the compliance matrix as a real table in both.

Files are named from the consultation's files, so a second run on the same files
overwrites the first; each is written whole under a temporary name, then renamed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workflows.tenders.answer.matrix import Row
from workflows.tenders.answer.render import cells
from workflows.tenders.export import save_docx, write_whole

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

from workflows.tenders.answer.wording import Words

__all__ = ["stem", "write_files"]


def stem(documents: Sequence[str]) -> str:
    """``answer-<first file>-<hash of all names>``: safe on every file system."""
    first = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(documents[0]).stem if documents else "")
    digest = hashlib.sha256("\n".join(documents).encode()).hexdigest()[:8]
    return f"answer-{first.strip('.-')[:40] or 'consultation'}-{digest}"


def write_files(
    folder: Path, name: str, markdown: str, rows: Sequence[Row], say: Words, title: str
) -> list[Path]:
    """``<name>.md`` and ``<name>.docx`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md = write_whole(folder / f"{name}.md", markdown.encode())
    return [md, _docx(folder / f"{name}.docx", markdown, rows, say, title)]


def _docx(path: Path, markdown: str, rows: Sequence[Row], say: Words, title: str) -> Path:
    from docx import Document  # only an export needs python-docx

    document = Document()
    document.core_properties.title = title
    document.core_properties.language = say.code
    for block in markdown.split("\n\n"):
        if block.startswith("| "):
            _table(document, rows, say)
        else:
            _block(document, block)
    return save_docx(document, path)


def _table(document: DocxDocument, rows: Sequence[Row], say: Words) -> None:
    table = document.add_table(rows=1, cols=len(say.columns))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, say.columns, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, cells(row, say), strict=True):
            cell.text = text


def _block(document: DocxDocument, block: str) -> None:
    heading = re.match(r"^(#{1,3}) (.+)$", block)
    if heading:
        document.add_heading(heading.group(2), level=len(heading.group(1)) - 1)
        return
    lines = block.split("\n")
    if all(line.lstrip().startswith("- ") for line in lines):
        for line in lines:
            style = "List Bullet 2" if line.startswith("  ") else "List Bullet"
            document.add_paragraph(line.lstrip()[2:], style=style)
        return
    paragraph = document.add_paragraph()
    for index, line in enumerate(lines):
        if index:
            paragraph.add_run().add_break()
        note = len(line) > 2 and line.startswith("_") and line.endswith("_")
        bold = re.match(r"^\*\*(.+?)\*\*(.*)$", line)
        if bold:
            paragraph.add_run(bold.group(1)).bold = True
            paragraph.add_run(bold.group(2))
            continue
        paragraph.add_run(line[1:-1] if note else line).italic = note or None
