"""Files people send: downloaded through their adapter and read, before the crew sees them.

The gateway calls ``read_attachments`` for a member's message; each file comes back with
its ``text``, or with the ``error`` that says why it was not read (too large, a type not
read, a failed download, too slow or too hungry to read), so nothing is lost: the message
goes on either way. Files are read by ``equipage.readers``, in processes it can kill. Adapters
use ``fetch`` to stream a platform's file URL under a byte cap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from channels.wording import EN, FR, Wording
from equipage.chat import Attachment, Downloader
from equipage.documents import Limits, size_refusal
from equipage.errors import DocumentRefused, RuntimeFailure, SourceError
from equipage.readers import readers
from equipage.refusal_text import refusal_text

if TYPE_CHECKING:
    import httpx

__all__ = ["fetch", "notice", "read_attachments"]

log = logging.getLogger(__name__)


async def read_attachments(
    channel: Downloader, attachments: Sequence[Attachment], limits: Limits
) -> tuple[Attachment, ...]:
    """Each file with its text or its error: a few at a time, all within ``limits.timeout``."""
    gate = asyncio.Semaphore(limits.concurrency)

    async def one(attachment: Attachment) -> Attachment:
        async with gate:
            return await _read(channel, attachment, limits)

    tasks = [asyncio.create_task(one(a)) for a in attachments[: limits.max_files]]
    if tasks:
        await asyncio.wait(tasks, timeout=limits.timeout)
    read: list[Attachment] = []
    for attachment, task in zip(attachments, tasks, strict=False):
        if task.done():
            read.append(task.result())
            continue
        task.cancel()
        read.append(
            _failed(
                attachment,
                f"it took longer than {limits.timeout:g} s to download and read. "
                "Send it again, or send a smaller file.",
            )
        )
    for attachment in attachments[limits.max_files :]:
        read.append(
            _failed(
                attachment,
                f"I read at most {limits.max_files} files of one message. "
                "Send the others in another message.",
            )
        )
    await asyncio.gather(*tasks, return_exceptions=True)  # let the cancelled ones finish
    return _share_characters(read, limits.max_chars)


async def _read(channel: Downloader, attachment: Attachment, limits: Limits) -> Attachment:
    if attachment.text is not None:  # already read: a sound file heard (channels.hearing)
        return attachment
    try:
        data = await channel.download(attachment, limit=limits.max_bytes)
        # In a child process of the shared pool: cancelled at the message's deadline, it
        # is killed there, and a bomb spends the child's memory, not the gateway's.
        document = await readers().extract(
            data, name=attachment.name, mime=attachment.mime, limits=limits
        )
    except DocumentRefused as refused:
        return _failed(attachment, _reason(attachment, refused))
    except SourceError as err:
        # The adapter's own explanation (e.g. Slack's missing files:read scope): no secrets.
        log.warning("could not download %s: %s", attachment.name, err)
        return _failed(attachment, f"{err.reason}")
    except Exception as err:  # a platform outage must not cost the person their message
        # Only the type and the adapter's own words: they never hold a token or signed URL.
        log.warning("could not download %s: %s: %s", attachment.name, type(err).__name__, err)
        return _failed(
            attachment,
            "downloading it from the platform failed. Send it again in a moment.",
        )
    return attachment.model_copy(update={"text": document.text, "size": len(data)})


def _share_characters(read: list[Attachment], budget: int) -> tuple[Attachment, ...]:
    """Trim texts in order so the message's files hold at most ``budget`` characters."""
    out, total = [], budget
    for attachment in read:
        text = attachment.text
        if text is not None and len(text) > budget:
            if budget <= 0:
                attachment = _failed(
                    attachment,
                    f"the other files of this message already fill the {total:,} characters "
                    "I read per message. Send it on its own.",
                )
                text = None
            else:
                cut = f"{text[:budget]}\n\n[Truncated: the message's files are read up to "
                text = f"{cut}{budget:,} characters together; the rest is not shown.]"
                attachment = attachment.model_copy(update={"text": text})
        budget -= len(text or "")
        out.append(attachment)
    return tuple(out)


def _failed(attachment: Attachment, reason: str) -> Attachment:
    return attachment.model_copy(update={"error": reason, "text": None})


def _reason(attachment: Attachment, refused: DocumentRefused) -> str:
    # Refusals read "<name>: <reason>"; the notice names the file once.
    return str(refused).removeprefix(f"{attachment.name}: ")


def notice(attachments: Sequence[Attachment], say: Wording = EN) -> str | None:
    """What to tell the person at once about files that were not read, if any, in ``say``."""
    failed = [a for a in attachments if a.error]
    if not failed:
        return None
    # The refusal keeps its English on the attachment (the agent reads it); people read theirs.
    language = "fr" if say is FR else "en"
    lines = [
        say.unread.format(name=a.name, error=refusal_text(a.error or "", language)) for a in failed
    ]
    lines.append(say.unread_after)
    return "\n".join(lines)


async def fetch(
    client: httpx.AsyncClient, url: str, *, name: str, limit: int, rule: str | None = None
) -> bytes:
    """The body at ``url``, streamed; DocumentRefused past ``limit`` bytes.

    Errors never quote ``url``: it may hold a bot token or a signature.
    """
    import httpx

    try:
        async with client.stream("GET", url) as response:
            if not response.is_success:
                raise RuntimeFailure(
                    f"the platform answered {response.status_code} to the download of {name}; "
                    "ask the person to send it again."
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise size_refusal(name, int(declared), limit, rule)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise size_refusal(name, None, limit, rule)
            return bytes(body)
    except httpx.HTTPError as err:
        raise RuntimeFailure(
            f"downloading {name} failed ({type(err).__name__}); ask the person to send it again."
        ) from None
