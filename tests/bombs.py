"""Hostile documents built at test time: a few KB on disk, gigabytes or minutes once read.

Nothing here ever holds the inflated bytes: a repeated chunk is compressed once and its
blocks are repeated (a full flush makes each block stand on its own), and the checksums
are computed chunk by chunk.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

import docx

__all__ = [
    "MB",
    "WORD",
    "Part",
    "deflated",
    "docx_with",
    "lying_docx",
    "paragraphs_docx",
    "pdf_flate_bomb",
    "pdf_of",
    "plain_pdf",
    "slow_pdf",
    "zip_of",
]

MB = 1024 * 1024
WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
BODY_OPEN = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{WORD}"><w:body>'.encode()
BODY_CLOSE = b"</w:body></w:document>"


@dataclass(frozen=True)
class Part:
    """One member of a zip: its raw deflate stream, CRC-32 and the size its header declares."""

    name: str
    raw: bytes
    crc: int
    declared: int


def _block(data: bytes) -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    return squeeze.compress(data) + squeeze.flush(zlib.Z_FULL_FLUSH)


def deflated(
    head: bytes, chunk: bytes, times: int, tail: bytes, *, checked: int | None = None
) -> tuple[bytes, int, int, int]:
    """Raw deflate of head + chunk x times + tail: (stream, CRC-32, Adler-32, inflated size).

    The checksums cover the first ``checked`` bytes only when given (a part whose header
    declares fewer bytes than it holds, so that a reader stopping there finds them right).
    """
    size = len(head) + len(chunk) * times + len(tail)
    checked = size if checked is None else checked
    crc, adler, counted = 0, 1, 0
    for piece in (head, *([chunk] * times), tail):
        take = piece[: max(checked - counted, 0)]
        crc, adler = zlib.crc32(take, crc), zlib.adler32(take, adler)
        counted += len(piece)
        if counted >= checked:
            break
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = _block(head) + _block(chunk) * times + end.compress(tail) + end.flush()
    return stream, crc, adler, size


def zip_of(parts: list[Part]) -> bytes:
    """A zip archive of ``parts`` as given: headers say what each part declares, true or not."""
    out, central = bytearray(), bytearray()
    for part in parts:
        name = part.name.encode()
        fields = (20, 0, 8, 0, 33, part.crc, len(part.raw), part.declared, len(name), 0)
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + name + part.raw
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset)
        central += name
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central), len(out), 0
    )
    return bytes(out + central + end)


def docx_with(document: Part) -> bytes:
    """A real python-docx document whose word/document.xml is ``document``."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    parts = []
    with zipfile.ZipFile(buffer) as source:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                parts.append(document)
                continue
            data = source.read(info)
            squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
            raw = squeeze.compress(data) + squeeze.flush()
            parts.append(Part(info.filename, raw, zlib.crc32(data), len(data)))
    return zip_of(parts)


def lying_docx(inflated: int = 2048 * MB, declared: int = 2048) -> bytes:
    """A .docx whose document.xml declares ``declared`` bytes and inflates to ``inflated``."""
    chunk = b"<w:p/>" * (MB // 6)
    raw, crc, _, _ = deflated(BODY_OPEN, chunk, inflated // len(chunk), b"", checked=declared)
    return docx_with(Part("word/document.xml", raw, crc, declared))


def paragraphs_docx(inflated: int = 96 * MB) -> bytes:
    """An honest .docx (sizes declared true) of ``inflated`` bytes of empty paragraphs.

    Small, and under a 100 MB unzipped cap; its XML tree holds one node per 6 bytes.
    """
    chunk = b"<w:p/>" * (MB // 6)
    raw, crc, _, size = deflated(BODY_OPEN, chunk, inflated // len(chunk), BODY_CLOSE)
    return docx_with(Part("word/document.xml", raw, crc, size))


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF 1.4 of ``objects`` (1 is the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _page(contents: bytes, resources: bytes = b"") -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
        b"<< /F1 3 0 R >> " + resources + b">> /Contents 5 0 R >>",
        contents,
    ]


def _flate(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n%s\nendstream" % (
        len(packed),
        extra,
        packed,
    )


def pdf_flate_bomb(inflated: int = 256 * MB) -> bytes:
    """A one-page PDF whose content stream (FlateDecode) inflates to ``inflated`` bytes."""
    chunk = b"BT /F1 12 Tf 72 720 Td (bombe) Tj ET\n" * (MB // 37)
    raw, _, adler, _ = deflated(b"", chunk, inflated // len(chunk), b"")
    stream = b"\x78\xda" + raw + struct.pack(">L", adler)
    return pdf_of(
        _page(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
        )
    )


def plain_pdf(line: str) -> bytes:
    """A one-page PDF showing ``line`` in Helvetica (WinAnsi: French reads right)."""
    shown = (
        line.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    )
    content = b"BT /F1 12 Tf 72 720 Td (" + shown + b") Tj ET"
    return pdf_of(_page(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)))


def slow_pdf(shows: int = 10_000, calls: int = 5_000) -> bytes:
    """A one-page PDF of 1 KB whose text takes minutes to extract.

    The page draws one form ``calls`` times; the form shows ``shows`` pieces of text, and
    each drawing extracts them again (0.1 s a drawing on a laptop).
    """
    form = _flate(
        b"BT /F1 12 Tf " + b"(a) Tj " * shows + b"ET",
        b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> ",
    )
    objects = _page(_flate(b"/Fm0 Do " * calls), b"/XObject << /Fm0 6 0 R >> ")
    return pdf_of([*objects, form])
