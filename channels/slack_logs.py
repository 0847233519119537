"""Keeps people's messages and Slack's secrets out of the logs the Slack channel causes.

At debug level slack_sdk logs every Socket Mode envelope it receives and every
acknowledgement it sends, raw (the message text, and the ``token`` verification field of
each event), and its web clients log each request's body (a reply's text) and each
response's (the text again; ``apps.connections.open``'s one-use socket URL and ticket);
slack-bolt logs a refused request's body.
Every slack_sdk client of the channel, and the bolt app, logs to ``SDK_LOG``, whose
``Scrub`` filter blanks any payload (from its first ``{`` to its last ``}``, or all after
``body:``) and any ticket in a URL, in the message and in the traceback alike, and keeps
the rest of the line: what happened, when.
"""

from __future__ import annotations

import logging
import re

__all__ = ["SDK_LOG", "Scrub"]

_PAYLOAD = re.compile(r"\{.*\}", re.S)
_TICKET = re.compile(r"(ticket=)[^&\s'\"]+")
# slack-bolt ends a line with the request's body ("... body: token=…&text=…)"); a form
# body has no braces to blank.
_BODY = re.compile(r"(body: ).+", re.S)


def scrub(text: str) -> str:
    """``text`` without payloads or socket tickets."""
    return _TICKET.sub(r"\1<secret>", _BODY.sub(r"\1…", _PAYLOAD.sub("{…}", text)))


class Scrub(logging.Filter):
    """Blanks payloads and tickets in a record, formatting it now, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            # An aiohttp handshake error names the socket URL, ticket included.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


#: The logger every slack_sdk client of the channel is given.
SDK_LOG = logging.getLogger("channels.slack.sdk")
SDK_LOG.addFilter(Scrub())
