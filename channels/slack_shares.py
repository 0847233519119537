"""Messages people share on Slack: someone else's words attached to theirs, as Forwarded.

Sharing or forwarding a message adds it to the new message's ``attachments`` (``is_share``,
``is_msg_unfurl``) with its author's name, the channel it came from, its ``text`` and a
``fallback``; a link Slack unfurls adds one with ``original_url`` and the page's words.
None of it is the person's typing: ``shared`` returns it apart from the message's ``text``.
What the person quoted themselves (``>`` lines, a rich_text quote) is in that text: theirs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from equipage.chat import Forwarded

__all__ = ["shared"]

_DEPTH = 3  # a share of a share of a share: deeper ones are not read


def shared(message: dict[str, Any], depth: int = 0) -> tuple[Forwarded, ...]:
    """The attachments of a person's message, each as the Forwarded words it carries."""
    items = message.get("attachments")
    if depth >= _DEPTH or not isinstance(items, list):
        return ()
    found: list[Forwarded] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        said = [str(item.get(k) or "").strip() for k in ("pretext", "title")]
        said.append(str(item.get("text") or item.get("fallback") or "").strip())
        text = "\n".join(s for s in said if s)
        if text:
            found.append(_forwarded(item, text))
        found += shared(item, depth + 1)
    return tuple(found)


def _forwarded(item: dict[str, Any], text: str) -> Forwarded:
    url = str(item.get("original_url") or "")
    if url and not (item.get("is_share") or item.get("is_msg_unfurl")):
        site = str(item.get("service_name") or urlsplit(url).hostname or url)
        return Forwarded(
            text=text, kind="preview", platform="Slack", author=site, author_kind="site"
        )
    name = str(item.get("author_name") or item.get("author_subname") or "").strip()
    channel = str(item.get("channel_name") or "").strip()
    if name and channel:
        name = f"{name} #{channel}"
    return Forwarded(
        text=text, platform="Slack", author=name or None, author_kind="user" if name else None
    )
