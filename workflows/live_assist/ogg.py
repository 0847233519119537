"""Ogg/Opus pages cut out of a stream and put back together as a file a transcriber reads.

A window of a live Opus stream is the stream's header pages (``OpusHead``, ``OpusTags``)
followed by the window's audio pages, renumbered from the headers on, with granule
positions counted from the window's start and each page's CRC computed again: a
standalone Ogg/Opus file, without decoding a sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["OPUS_RATE", "Page", "split_pages", "standalone"]

OPUS_RATE = 48_000  # granule positions count 48 kHz samples, whatever the input's rate
_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, n
_CONTINUED = 0x01
_BOS, _EOS = 0x02, 0x04


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


@dataclass(frozen=True)
class Page:
    """One Ogg page as read: its header fields and its whole bytes."""

    raw: bytes
    flags: int
    granule: int  # -1: no packet ends on this page

    @property
    def continued(self) -> bool:
        """True when the page starts with the rest of a packet begun on the page before."""
        return bool(self.flags & _CONTINUED)

    @property
    def is_header(self) -> bool:
        """OpusHead or OpusTags: granule 0 on the stream's first pages."""
        return self.granule == 0


def split_pages(buffer: bytes) -> tuple[list[Page], bytes, str | None]:
    """The whole pages at the start of ``buffer``, the bytes left over, and what is wrong
    with the data when it is not Ogg (None when it is, so far)."""
    pages: list[Page] = []
    at = 0
    while len(buffer) - at >= _HEADER.size:
        capture, _, flags, granule, _, _, _, count = _HEADER.unpack_from(buffer, at)
        if capture != b"OggS":
            return pages, buffer[at:], "an Ogg page does not start with OggS"
        lacing = at + _HEADER.size
        if len(buffer) < lacing + count:
            break
        size = _HEADER.size + count + sum(buffer[lacing : lacing + count])
        if len(buffer) - at < size:
            break
        pages.append(Page(raw=bytes(buffer[at : at + size]), flags=flags, granule=granule))
        at += size
    return pages, buffer[at:], None


def standalone(headers: list[Page], pages: list[Page], base: int) -> bytes:
    """``headers`` then ``pages`` as one Ogg/Opus file; ``base`` is the granule before the
    first page, so the file's time starts at 0."""
    out = bytearray()
    last = len(headers) + len(pages) - 1
    for seq, page in enumerate([*headers, *pages]):
        granule = page.granule if page.granule <= 0 or seq < len(headers) else page.granule - base
        flags = page.flags & ~(_EOS | (_CONTINUED if seq == len(headers) else 0))
        flags = flags | (_EOS if seq == last else 0)
        if seq > 0:
            flags &= ~_BOS
        head = bytearray(page.raw)
        capture, version, _, _, serial, _, _, count = _HEADER.unpack_from(head)
        _HEADER.pack_into(head, 0, capture, version, flags, granule, serial, seq, 0, count)
        struct.pack_into("<I", head, 22, _crc(bytes(head)))
        out += head
    return bytes(out)
