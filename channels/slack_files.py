"""Files people share on Slack: read from a message's ``files``, fetched with the bot token.

A file's ``url_private_download`` is its ``Attachment.ref``. Fetching it needs the bot
token (and the app's ``files:read`` scope), so the token is only ever sent to Slack's
file host, or to the Web API's own host when a test points ``base_url`` at a fake.
Audio clips and sound files are marked ``Attachment.spoken``: the gateway transcribes them.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from equipage.envelope import Attachment
from equipage.errors import DocumentRefused, SourceError

__all__ = ["FILE_HOST", "attachments", "fetch"]

FILE_HOST = "files.slack.com"
_TIMEOUT = 30.0


def attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """The files of a message event that can be fetched, as Attachments."""
    found = []
    for file in message.get("files") or []:
        # Deleted files ("tombstone") and files past a free plan's limit have no URL.
        url = file.get("url_private_download") or file.get("url_private")
        if not isinstance(url, str) or not url:
            continue
        found.append(
            Attachment(
                name=str(file.get("name") or file.get("title") or file.get("id") or "file"),
                mime=str(file.get("mimetype") or "application/octet-stream"),
                size=int(file.get("size") or 0),
                ref=url,
                spoken=_spoken(file),
            )
        )
    return tuple(found)


def _spoken(file: dict[str, Any]) -> Literal["voice", "audio"] | None:
    """A clip recorded in Slack (``subtype: slack_audio``) is a voice note; other sound files
    are files of sound, heard as outside content."""
    if file.get("subtype") == "slack_audio":
        return "voice"
    return "audio" if str(file.get("mimetype") or "").startswith("audio/") else None


async def fetch(attachment: Attachment, *, token: str, api_url: str, limit: int) -> bytes:
    """The file's bytes, streamed and cut off past ``limit``; DocumentRefused beyond it."""
    name = attachment.name
    if attachment.size > limit:
        raise DocumentRefused(f"{name}: it is {attachment.size:,} bytes, more than {limit:,}")
    url = urlsplit(attachment.ref)
    api = urlsplit(api_url)
    if (url.scheme, url.netloc) not in {("https", FILE_HOST), (api.scheme, api.netloc)}:
        raise DocumentRefused(f"{name}: it is not a Slack file ({url.netloc}), so it was not read")
    headers = {"Authorization": f"Bearer {token}"}
    body = bytearray()
    # httpx drops the Authorization header on a redirect to another host.
    async with (
        httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=True) as http,
        http.stream("GET", attachment.ref, headers=headers) as response,
    ):
        if response.status_code != 200:
            raise SourceError("Slack", f"downloading {name} answered HTTP {response.status_code}")
        kind = response.headers.get("content-type", "")
        if kind.startswith("text/html") and not attachment.mime.startswith("text/html"):
            # What Slack serves instead of the file when the token may not read it.
            raise SourceError(
                "Slack",
                f"downloading {name} gave a sign-in page: add the files:read scope to the "
                "Slack app (OAuth & Permissions) and reinstall it",
            )
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise DocumentRefused(f"{name}: it is more than {limit:,} bytes")
    return bytes(body)
