"""Reading a transcript from a file or a pipe, line by line, within a size limit.

A call's transcript is a few hundred kilobytes; a file of gigabytes (a video piped in by
mistake, a log) would otherwise be read to its end, or one endless line held whole in
memory. A regular file over the limit is refused before anything is read; a pipe is
refused as soon as it passes the limit. Both refusals name the limit, in the reader's
language.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from typing import TextIO

from equipage.errors import InputRejected
from equipage.language import pick

__all__ = ["MAX_LINE", "MAX_TRANSCRIPT", "read_lines", "too_large"]

#: Largest transcript read (``workflows.live_assist.max_bytes``): four hours of a call as
#: SRT are under 2 MB.
MAX_TRANSCRIPT = 8 * 1024 * 1024
#: Largest line: a segment is a sentence or two, not a document.
MAX_LINE = 64 * 1024


def _size(size: int, language: str | None) -> str:
    """The limit as a person reads it, exactly: "8 MB", "64 Ko", "2000 bytes"."""
    mb, kb, unit = pick(language, ("MB", "KB", "bytes"), ("Mo", "Ko", "octets"))
    if size >= 1024 * 1024:
        text = f"{size / (1024 * 1024):.1f}".removesuffix(".0")
        return f"{text.replace('.', ',') if mb == 'Mo' else text} {mb}"
    if size % 1024 == 0:
        return f"{size // 1024} {kb}"
    return f"{size} {unit}"


def too_large(limit: int, language: str | None, *, line: bool = False) -> InputRejected:
    """The refusal of a transcript (or one of its lines) over ``limit`` bytes."""
    size = _size(limit, language)
    if line:
        return InputRejected(
            pick(
                language,
                f"a line of the transcript is over the {size} limit, so the transcript was "
                "not read further: send one 'speaker: text' line per segment.",
                f"une ligne de la transcription dépasse la limite de {size} : la lecture "
                "s'arrête là. Envoyez une ligne « intervenant : texte » par segment.",
            )
        )
    return InputRejected(
        pick(
            language,
            f"the transcript is over the {size} limit, so it is not read whole: send a "
            "shorter extract, or split it over several sessions. The owner can raise the "
            "limit with workflows.live_assist.max_bytes in company.yaml.",
            f"la transcription dépasse la limite de {size} : elle n'est pas lue en entier. "
            "Envoyez un extrait plus court, ou découpez-la en plusieurs sessions. Le "
            "propriétaire peut relever la limite avec workflows.live_assist.max_bytes dans "
            "company.yaml.",
        )
    )


def _file_size(stream: TextIO) -> int | None:
    """The size of a regular file behind ``stream``; -1 for a buffer (no file descriptor);
    None for a pipe or a terminal, whose size is known only once read."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else None


async def read_lines(
    stream: TextIO,
    *,
    max_bytes: int = MAX_TRANSCRIPT,
    max_line: int = MAX_LINE,
    language: str | None = None,
) -> AsyncIterator[str]:
    """The lines of ``stream``; InputRejected past ``max_bytes`` in all or ``max_line`` in one."""
    size = _file_size(stream)
    if size is not None and size > max_bytes:
        raise too_large(max_bytes, language)
    read = 0
    lines = _pipe_lines if size is None else _file_lines
    async for line in lines(stream, max_line, language):
        read += len(line.encode("utf-8", "surrogatepass"))
        if read > max_bytes:
            raise too_large(max_bytes, language)
        yield line


async def _file_lines(stream: TextIO, max_line: int, language: str | None) -> AsyncIterator[str]:
    """A regular file (``< transcript.txt``) or a buffer: never blocks, read as it is."""
    while line := stream.readline(max_line + 1):
        if len(line) > max_line and not line.endswith("\n"):
            raise too_large(max_line, language, line=True)
        yield line


async def _pipe_lines(stream: TextIO, max_line: int, language: str | None) -> AsyncIterator[str]:
    """A pipe or a terminal, read without a thread so the feeder stops cleanly."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=max_line + 1)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), stream
    )
    try:
        while True:
            try:
                raw = await reader.readline()
            except ValueError as err:  # the line passed the reader's limit
                raise too_large(max_line, language, line=True) from err
            if not raw:
                return
            yield raw.decode(errors="replace")
    finally:
        transport.close()
