"""Documents people send: their text read out of PDF, Word and plain-text files, capped.

``extract`` decides what a file is from its bytes first (``%PDF-``, a zip holding
``word/document.xml``, known image/audio/archive/program signatures), and from its name and
MIME type only where the bytes cannot tell: chat platforms' MIME types lie. It refuses what it
cannot read with ``DocumentRefused``, whose message starts with the file's name and a colon
(``"photo.jpg: it is an image ..."``) and says which types are read. It is pure (bytes in,
text out) and bounded: bytes, characters, PDF pages, seconds and unzipped sizes are capped,
so a hostile file costs little (``equipage.wordfile`` reads a .docx as a stream). What no cap
foresees, a parse that is slow or an allocation gone wild, ``equipage.readers`` stops: it
runs ``extract`` in a process of its own, memory-capped and killed at the deadline.
``prompt_messages`` shows the text to a model as untrusted:
a document comes from outside the company even when the owner forwards it.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from equipage.envelope import Attachment
from equipage.errors import DocumentRefused
from equipage.llm.messages import Message
from equipage.wordfile import MAX_PARTS, Unreadable, part_names, word_text

if TYPE_CHECKING:
    from pypdf import PdfReader

__all__ = [
    "READABLE",
    "Document",
    "Limits",
    "attachment_lines",
    "extract",
    "prompt_messages",
    "refusal",
    "size_refusal",
    "size_text",
]

READABLE = "PDF, Word (.docx), plain text, Markdown, CSV and JSON"
_SEND_ANOTHER = f"I read {READABLE} files: send it as one of those, or paste its text in the chat."

# Signatures of what is certainly not a document we read, with what to call it.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF87a", "an image (GIF)"),
    (b"GIF89a", "an image (GIF)"),
    (b"II*\x00", "an image (TIFF)"),
    (b"MM\x00*", "an image (TIFF)"),
    (b"OggS", "audio (Ogg, a voice note?)"),
    (b"ID3", "audio (MP3)"),
    (b"fLaC", "audio (FLAC)"),
    (b"\x1aE\xdf\xa3", "a video (WebM or Matroska)"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a program (Windows executable)"),
    (b"\xcf\xfa\xed\xfe", "a program (macOS executable)"),
    (b"\x1f\x8b", "a compressed archive (gzip)"),
    (b"7z\xbc\xaf\x27\x1c", "a compressed archive (7-Zip)"),
    (b"Rar!\x1a\x07", "a compressed archive (RAR)"),
    (b"\xfd7zXZ\x00", "a compressed archive (xz)"),
    (b"\x28\xb5\x2f\xfd", "a compressed archive (zstd)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-format Office file (.doc, .xls or .ppt)"),
    (b"{\\rtf", "a Rich Text (RTF) file"),
)
_ZIP_KINDS = (
    ("xl/workbook.xml", "an Excel workbook (.xlsx)"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)"),
    ("content.xml", "an OpenDocument file (.odt, .ods or .odp)"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class Limits(BaseModel):
    """How much of what people send is read: per file, and per message by the gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bytes: int = 20 * 1024 * 1024  # Telegram's own limit for bots
    max_chars: int = 100_000  # of text per message, all its files together
    max_pages: int = 300
    max_unzipped: int = 100 * 1024 * 1024  # a .docx's text or a PDF stream, once inflated
    max_files: int = 5  # read per message; the others reach the crew as names only
    concurrency: int = 3
    timeout: float = 30.0  # seconds for downloading and reading all files of one message
    memory: int = 512 * 1024 * 1024  # the process that reads one file, all included


class Document(BaseModel):
    """The text read from one file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["pdf", "docx", "text"]
    text: str
    truncated: bool = False
    pages: int | None = None  # PDFs: pages in the file


def refusal(name: str, reason: str) -> DocumentRefused:
    """The error for a file that is not read: ``"<name>: <reason>"``."""
    return DocumentRefused(f"{name}: {reason}")


def size_refusal(
    name: str, size: int | None, limit: int, rule: str | None = None
) -> DocumentRefused:
    """The refusal of a file over ``limit`` bytes; ``rule`` says whose limit (with ``{limit}``)."""
    said = f"it is {size_text(size)}." if size else "it is too large."
    rule = rule or "I read files of at most {limit}."
    return refusal(
        name,
        f"{said} {rule.format(limit=size_text(limit))} Send a smaller file "
        "(a PDF of the pages that matter), or paste the text in the chat.",
    )


def extract(
    data: bytes, *, name: str = "document", mime: str = "", limits: Limits | None = None
) -> Document:
    """The text of ``data``, at most ``limits.max_chars`` characters; DocumentRefused if unread."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise size_refusal(name, len(data), limits.max_bytes)
    if not data:
        raise refusal(name, "the file is empty. Send it again.")
    kind = _sniff(data, name, mime)
    if kind == "pdf":
        return _pdf(data, name, limits)
    if kind == "docx":
        return _docx(data, name, limits)
    return _text(data, name, limits)


def _sniff(data: bytes, name: str, mime: str) -> Literal["pdf", "docx", "text"]:
    head = data[:1024]
    claims_pdf = mime == "application/pdf" or name.lower().endswith(".pdf")
    if head.lstrip().startswith(b"%PDF-") or (claims_pdf and b"%PDF-" in head):
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, name)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise refusal(name, f"it is {what}. {_SEND_ANOTHER}")
    if data[8:12] in (b"WEBP", b"WAVE", b"AVI ") and data.startswith(b"RIFF"):
        what = {b"WEBP": "an image (WebP)", b"WAVE": "audio (WAV)"}.get(data[8:12], "a video")
        raise refusal(name, f"it is {what}. {_SEND_ANOTHER}")
    if data[4:8] == b"ftyp":
        heic = data[8:12] in (b"heic", b"heix", b"mif1")
        what = "an image (HEIC)" if heic else "a video or audio file"
        raise refusal(name, f"it is {what}. {_SEND_ANOTHER}")
    if claims_pdf:
        raise refusal(
            name, "it says it is a PDF but does not start like one: it may be damaged. "
            "Export it to PDF again and resend it."
        )  # fmt: skip
    if name.lower().endswith(".docx"):
        raise refusal(name, "it says it is a Word file but is not a .docx: it may be damaged.")
    return "text"


def _zip_kind(data: bytes, name: str) -> Literal["docx"]:
    try:
        names = part_names(data)
    except Unreadable as err:
        raise _unopened(name, err, "") from err
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise refusal(name, f"it is a damaged zip file ({err}). {_SEND_ANOTHER}") from err
    if "word/document.xml" in names:
        return "docx"
    what = next((w for part, w in _ZIP_KINDS if part in names), "a zip archive")
    raise refusal(name, f"it is {what}. {_SEND_ANOTHER}")


def _pdf(data: bytes, name: str, limits: Limits) -> Document:
    from pypdf import PdfReader, apply_configuration, get_configuration
    from pypdf.errors import DependencyError, LimitReachedError

    started = time.monotonic()
    # pypdf stops inflating a stream at these (75 MB by default): one cap for both formats.
    capped = get_configuration().with_overwrites(
        **dict.fromkeys(_PYPDF_SIZE_LIMITS, limits.max_unzipped)
    )
    try:
        with apply_configuration(capped):
            return _pdf_text(PdfReader(io.BytesIO(data)), name, limits, started)
    except DependencyError as err:
        raise refusal(
            name, "it is encrypted in a way this installation cannot open (pip install "
            "'pypdf[crypto]'). Send a copy without protection, or paste its text."
        ) from err  # fmt: skip
    except LimitReachedError as err:
        raise refusal(
            name, "it is built to take far more memory or work to read than a document "
            "needs: I do not read it. Export it to PDF again and resend it, or paste its "
            "text in the chat."
        ) from err  # fmt: skip
    except (DocumentRefused, MemoryError):
        raise
    except Exception as err:  # pypdf raises many kinds on a broken file; all mean the same
        raise refusal(
            name, f"it could not be read as a PDF: it looks damaged ({type(err).__name__}). "
            "Open it, export it to PDF again and resend it."
        ) from err  # fmt: skip


_PYPDF_SIZE_LIMITS = (
    "maximum_declared_stream_length",
    "array_based_stream_maximum_output_length",
    "zlib_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "jbig2_maximum_output_length",
    "brotli_maximum_output_length",
    "image_maximum_buffer_size",
)


def _pdf_text(reader: PdfReader, name: str, limits: Limits, started: float) -> Document:
    from pypdf import PasswordType

    # Many PDFs are "encrypted" with an empty password only to restrict printing.
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise refusal(
            name, "it is protected by a password. Send a copy without the password, "
            "or paste its text in the chat."
        )  # fmt: skip
    pages = len(reader.pages)
    texts: list[str] = []
    size, note = 0, ""
    for number, page in enumerate(reader.pages, start=1):
        if number > limits.max_pages:
            note = f"only the first {limits.max_pages} of {pages} pages were read"
            break
        if time.monotonic() - started > limits.timeout:
            note = f"reading stopped after {number - 1} of {pages} pages: it took too long"
            break
        text = page.extract_text() or ""
        texts.append(text)
        size += len(text)
        if size > limits.max_chars:
            break
    text = _clean("\n\n".join(t.strip() for t in texts if t.strip()))
    if not text:
        raise refusal(
            name, "it has no text I can read: it is probably a scan (pictures of pages). "
            "Send a PDF with selectable text, or paste the text in the chat."
        )  # fmt: skip
    return _capped("pdf", text, limits.max_chars, note, pages=pages)


def _docx(data: bytes, name: str, limits: Limits) -> Document:
    try:
        text, cut = word_text(data, max_unzipped=limits.max_unzipped, max_chars=limits.max_chars)
    except Unreadable as err:
        raise _unopened(name, err, size_text(limits.max_unzipped)) from err
    except MemoryError:
        raise
    except Exception as err:  # a broken zip, part or XML: zipfile and expat raise many kinds
        raise refusal(
            name, f"it could not be read as a Word document: it looks damaged "
            f"({type(err).__name__}). Save it again as .docx or PDF and resend it."
        ) from err  # fmt: skip
    text = _clean(text)
    if not text:
        raise refusal(name, "the Word document has no text.")
    note = f"only the first {limits.max_chars:,} characters were read" if cut else ""
    return _capped("docx", text, limits.max_chars, note)


def _unopened(name: str, err: Unreadable, unzipped: str) -> DocumentRefused:
    """The refusal of a zip for what it is built like, not for damage."""
    if err.what == "dtd":
        return refusal(
            name, "it declares a DTD or entities, which Word documents never need and "
            "attacks do: I do not open it. Save it again as .docx or PDF and resend it."
        )  # fmt: skip
    what = f"unpacks to more than {unzipped}" if err.what == "unzipped" else (
        f"holds more than {MAX_PARTS:,} parts"
    )  # fmt: skip
    return refusal(
        name, f"it {what}, far more than a Word document needs: I do not open it. "
        "Export it to PDF and send that instead."
    )  # fmt: skip


def _text(data: bytes, name: str, limits: Limits) -> Document:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoded = _decode(data, "utf-16")
    elif b"\x00" in data[:8192]:
        decoded = None
    else:
        decoded = _decode(data, "utf-8-sig") or _decode(data, "cp1252") or data.decode("latin-1")
    sample = (decoded or "")[:8192]
    if decoded is None or len(_CONTROL.findall(sample)) > max(len(sample) // 100, 2):
        raise refusal(name, f"it is a binary file of a type I do not read. {_SEND_ANOTHER}")
    text = _clean(decoded)
    if not text.strip():
        raise refusal(name, "the file holds no text.")
    return _capped("text", text, limits.max_chars, "")


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _clean(text: str) -> str:
    # NFC: PDFs often spell "é" as "e" plus a combining accent.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize("NFC", text).strip()


def _capped(
    kind: Literal["pdf", "docx", "text"], text: str, limit: int, note: str, pages: int | None = None
) -> Document:
    truncated = bool(note) or len(text) > limit
    if len(text) > limit:
        text = text[:limit]
        note = note or f"only the first {limit:,} characters were read"
    if note:
        text = f"{text}\n\n[Truncated: {note}; the rest of the file is not shown.]"
    return Document(kind=kind, text=text, truncated=truncated, pages=pages)


def size_text(size: int) -> str:
    """``size`` bytes as a person reads it: "820 bytes", "12 KB", "1.5 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# -- what the model sees -----------------------------------------------------------------------
def attachment_lines(attachments: Sequence[Attachment]) -> str:
    """One line per file: what it is, and whether it was read (``equipage.outside``)."""
    lines = []
    for a in attachments:
        line = f"- {a.name} ({a.mime}, {a.size} bytes, ref {a.ref})"
        if a.text is not None:
            line += ": its text is given above, as untrusted content"
        elif a.error:
            line += f": not read ({a.error})"
        lines.append(line)
    return "\n".join(lines)


def prompt_messages(attachments: Sequence[Attachment], sender: str) -> list[Message]:
    """The text of each file read, as an untrusted user turn of its own (before the sender's).

    Untrusted even from the owner: a document carries other people's words, and an
    instruction hidden in it must not run a side-effecting tool without approval.
    """
    out = []
    for a in attachments:
        if a.text is None:
            continue
        label = re.sub(r"[\"<>\s]+", " ", a.name).strip()[:80] or "document"
        content = f"Text of the file {a.name} ({a.mime}) sent by {sender}:\n\n{a.text}"
        out.append(Message(role="user", content=content, name=f"document {label}", untrusted=True))
    return out
