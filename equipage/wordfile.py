"""The text of a Word (.docx) file read as a stream, trusting nothing the file says of itself.

A .docx is a zip, and a zip's headers can lie: a part that declares 2 KB may inflate to
2 GB, and an honest 180 KB file can hold 16 million XML elements. So its directory is
sized before zipfile parses it, ``word/document.xml`` is inflated 64 KB at a time and
never past ``max_unzipped`` bytes, and its XML goes through expat as it comes: no tree is
built, a DTD (every entity attack starts with one) is refused, and reading stops once
``max_chars`` characters are held. No other part (images, embedded files, nested zips) is
ever inflated. Text comes out as python-docx gave it: paragraphs, then tables as rows of
``" | "``-joined cells, a merged cell repeated over the columns it spans.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from typing import Literal
from xml.parsers import expat

__all__ = ["MAX_PARTS", "Unreadable", "part_names", "word_text"]

MAX_PARTS = 2000  # a long report with images has a few dozen
_MAX_DIRECTORY = 2 * 1024 * 1024  # bytes of zip directory: MAX_PARTS entries fit with room
_MAX_DEPTH = 256  # of XML elements; Word's deepest nested tables stay far below
_MAX_SPAN = 64  # Word tables have at most 63 columns
_CHUNK = 64 * 1024

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main "
_FALLBACK = "http://schemas.openxmlformats.org/markup-compatibility/2006 Fallback"
_P, _R, _T, _TBL, _TR, _TC = (f"{_W}{tag}" for tag in ("p", "r", "t", "tbl", "tr", "tc"))
_RUN_TEXT = {f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}


class Unreadable(Exception):
    """A .docx refused for what it is, not for damage: ``documents`` words it for the person.

    ``what``: ``parts`` (too many, or too large a directory), ``unzipped`` (the text part
    inflates past the cap), ``dtd`` (its XML declares a DTD).
    """

    def __init__(self, what: Literal["parts", "unzipped", "dtd"]) -> None:
        super().__init__(what)
        self.what = what


def part_names(data: bytes) -> set[str]:
    """The names of the parts of the zip ``data``; Unreadable when it has too many."""
    with _archive(data) as archive:
        return set(archive.namelist())


def word_text(data: bytes, *, max_unzipped: int, max_chars: int) -> tuple[str, bool]:
    """The text of the .docx ``data`` and whether it was cut at ``max_chars`` characters.

    Raises Unreadable, or what zipfile and expat raise on a damaged file.
    """
    with _archive(data) as archive:
        parts = archive.infolist()
        # What the headers admit to is refused before anything is inflated.
        if sum(p.file_size for p in parts) > max_unzipped:
            raise Unreadable("unzipped")
        reader = _Reader(max_chars)
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.StartElementHandler = reader.start
        parser.EndElementHandler = reader.end
        parser.CharacterDataHandler = reader.characters
        try:
            for chunk in _inflated(archive, archive.getinfo("word/document.xml"), max_unzipped):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Full:
            return reader.text(), True
    return reader.text(), False


def _archive(data: bytes) -> zipfile.ZipFile:
    # zipfile turns the whole directory into objects before anyone can count them.
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if 0 <= end <= len(data) - 22:
        _, _, _, entries, size, _, _ = struct.unpack_from("<4H2LH", data, end + 4)
        if entries > MAX_PARTS or size > _MAX_DIRECTORY:  # zip64 markers are 0xFFFF...
            raise Unreadable("parts")
    archive = zipfile.ZipFile(io.BytesIO(data))
    if len(archive.infolist()) > MAX_PARTS:
        archive.close()
        raise Unreadable("parts")
    return archive


def _inflated(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> Iterator[bytes]:
    """The part's bytes in chunks: never past ``cap``, nor past the size its header declares."""
    if info.file_size > cap:
        raise Unreadable("unzipped")
    read = 0
    with archive.open(info) as part:
        # read(n) inflates at most n bytes per call; read() would inflate up to 2 GB at once.
        while chunk := part.read(_CHUNK):
            read += len(chunk)
            if read > cap:
                raise Unreadable("unzipped")
            yield chunk


def _refuse_dtd(*_: object) -> None:
    raise Unreadable("dtd")


class _Full(Exception):
    """Enough characters are held: the rest of the file is not read."""


class _Table:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.cells: list[str] = []  # of the row being read, one per grid column
        self.above: list[str] = []  # the previous row's, for vertically merged cells


class _Cell:
    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.span = 1
        self.merged = False  # continues the cell above


class _Reader:
    """Expat handlers that gather paragraphs and table rows as they stream past.

    Everything kept counts against ``max_chars`` (an empty paragraph or cell too), so a
    file of millions of empty elements stops as early as one of text.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.held = 0
        self.blocks: list[str] = []
        self.stack: list[str] = []
        self.skipping = 0  # depth inside an mc:Fallback, which repeats its mc:Choice
        self.paragraph: list[str] | None = None  # the outermost open paragraph's pieces
        self.tables: list[_Table] = []
        self.cells: list[_Cell] = []
        self.closing = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.stack) >= _MAX_DEPTH:
            raise ValueError(f"XML nested deeper than {_MAX_DEPTH} elements")
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        if self.skipping or tag == _FALLBACK:
            self.skipping += 1
        elif tag == _P and self.paragraph is None:
            self.paragraph = []
        elif tag == _P and self.paragraph and self.paragraph[-1] != "\n":
            self._hold("\n")  # a text box's paragraph, inside this one: a line of its own
        elif tag == _TBL:
            self.tables.append(_Table())
        elif tag == _TC:
            self.cells.append(_Cell())
        elif tag == f"{_W}gridSpan" and self.cells:
            value = attrs.get(f"{_W}val", "1")
            self.cells[-1].span = min(int(value), _MAX_SPAN) if value.isdigit() else 1
        elif tag == f"{_W}vMerge" and self.cells:
            self.cells[-1].merged = attrs.get(f"{_W}val", "continue") == "continue"
        elif parent == _R and self.paragraph is not None:
            if tag == f"{_W}br":
                # A page or column break is no character; a line break (the default) is.
                piece = "\n" if attrs.get(f"{_W}type", "textWrapping") == "textWrapping" else ""
            else:
                piece = _RUN_TEXT.get(tag, "")
            if piece:
                self._hold(piece)

    def end(self, tag: str) -> None:
        self.stack.pop()
        if self.skipping:
            self.skipping -= 1
        elif tag == _P and self.paragraph is not None and _P not in self.stack:
            text, self.paragraph = "".join(self.paragraph), None
            self._keep(text)
        elif tag == _P and self.paragraph is not None:
            self._hold("\n")
        elif tag == _TC and self.cells:
            cell, table = self.cells.pop(), self.tables[-1] if self.tables else None
            if table is not None:
                column = len(table.cells)
                if cell.merged and column < len(table.above):
                    texts = table.above[column : column + cell.span]
                else:
                    texts = ["\n".join(cell.paragraphs).strip()] * cell.span
                table.cells.extend(texts)
                self._count(sum(len(t) + 3 for t in texts))
        elif tag == _TR and self.tables:
            table = self.tables[-1]
            table.rows.append(" | ".join(table.cells))
            table.above, table.cells = table.cells, []
            self._count(1)
        elif tag == _TBL and self.tables:
            self._keep("\n".join(self.tables.pop().rows), counted=True)

    def characters(self, data: str) -> None:
        if self.stack and self.stack[-1] == _T and not self.skipping and self.paragraph is not None:
            self._hold(data)

    def text(self) -> str:
        """What was read; a file cut short has its open paragraph, cells and rows closed."""
        self.closing = True
        for tag in reversed(list(self.stack)):
            self.end(tag)
        return "\n".join(self.blocks)

    def _hold(self, piece: str) -> None:
        assert self.paragraph is not None
        self.paragraph.append(piece)
        self._count(len(piece))

    def _keep(self, text: str, *, counted: bool = False) -> None:
        (self.cells[-1].paragraphs if self.cells else self.blocks).append(text)
        # A paragraph's characters were counted as they came; its line break counts now.
        if not counted:
            self._count(1)

    def _count(self, characters: int) -> None:
        # Called once what it counts is kept, so a file cut here loses nothing read.
        self.held += characters
        if self.held > self.max_chars and not self.closing:
            raise _Full
