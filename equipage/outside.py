"""What comes with a message without being its sender's words, as the model reads it.

A person's message may bring files (their text; their names, types, sizes and why some were
not read) and words they forwarded or shared. None of that is theirs, even from the owner:
each becomes an untrusted user turn of its own (fenced for the model by
``policy.wrap_untrusted``), placed before the sender's own words, so the thread is tainted
and a side effect it asks for waits for the founder's approval.

A turn's ``name`` says where it came from ("forwarded message from the channel X", and
the platform): the fence's label for the model, and the source the approval question names to
the founder, so it is worded in the founder's language (``Origin.language``; French or English).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from equipage.documents import attachment_lines, prompt_messages
from equipage.envelope import Attachment, Envelope, Forwarded
from equipage.llm.messages import Message

__all__ = ["outside_messages"]

_UNSAFE = re.compile(r"[\"<>\s]+")  # what could break out of the fence's source label

# Who wrote forwarded words, by ``Forwarded.author_kind``; {name}, {platform}.
_FROM = {
    "en": {
        "user": "from {name} ({platform} user)",
        "hidden_user": "from {name} ({platform} user who hides their account)",
        "chat": "from the chat {name} ({platform})",
        "channel": "from the channel {name} ({platform})",
        "site": "from {name}",
        None: "from {name} ({platform})",
    },
    "fr": {
        "user": "de {name} (utilisateur {platform})",
        "hidden_user": "de {name} (utilisateur {platform} au compte masqué)",
        "chat": "du groupe {name} ({platform})",
        "channel": "de la chaîne {name} ({platform})",
        "site": "de {name}",
        None: "de {name} ({platform})",
    },
}
_WHAT = {
    "en": {
        "message": "forwarded message",
        "caption": "caption of a forwarded file",
        "preview": "link preview",
        "files": "attached files",
    },
    "fr": {
        "message": "message transféré",
        "caption": "légende d'un fichier transféré",
        "preview": "aperçu de lien",
        "files": "fichiers joints",
    },
}
# What the model reads first in the turn (English, like the rest of its prompt).
_LEAD = {
    "message": "A message {sender} forwarded",
    "caption": "The caption of a file {sender} forwarded",
    "preview": "The preview of a link in the message of {sender}",
}


def outside_messages(envelope: Envelope) -> list[Message]:
    """Untrusted turns for all that ``envelope`` carries beside its sender's own text."""
    told = envelope.origin.language if envelope.origin is not None else None
    language = "fr" if told == "fr" else "en"
    sender = envelope.sender
    turns = prompt_messages(envelope.attachments, sender)
    turns += [
        _forwarded(part, sender, language) for part in envelope.forwarded if part.text.strip()
    ]
    if envelope.attachments:
        turns.append(_files(envelope.attachments, sender, language))
    return turns


def _forwarded(part: Forwarded, sender: str, language: str) -> Message:
    lead = _LEAD[part.kind].format(sender=sender)
    label = _WHAT[language][part.kind]
    if part.author:
        lead = f"{lead}; it comes {_who(part, 'en')}, not from them"
        label = f"{label} {_who(part, language)}"
    else:
        lead = f"{lead}; the platform does not say who wrote it, but not them"
        label = f"{label} ({part.platform})" if part.platform else label
    content = f"{lead}:\n\n{part.text}"
    return Message(role="user", content=content, name=_label(label), untrusted=True)


def _who(part: Forwarded, language: str) -> str:
    kind = part.author_kind if part.platform else "site"  # "site": the name alone
    return _FROM[language][kind].format(name=part.author, platform=part.platform)


def _files(attachments: Sequence[Attachment], sender: str, language: str) -> Message:
    # Names, sizes and the reasons a file was not read come from the platform and the
    # file's sender: the owner did not type them, so they are no orders of theirs.
    content = f"Files {sender} sent with the message:\n{attachment_lines(attachments)}"
    name = _WHAT[language]["files"]
    return Message(role="user", content=content, name=name, untrusted=True)


def _label(text: str) -> str:
    return _UNSAFE.sub(" ", text).strip()[:80]
