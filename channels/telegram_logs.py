"""Keeps the bot token and the webhook secret out of the logs the Telegram channel causes.

The Bot API puts the token in every request URL, file download URLs included, and
python-telegram-bot logs each call's parameters (setWebhook's ``secret_token`` too) at
debug level; httpx and httpcore log the URLs. ``Redact`` blanks those secrets in the
records of the loggers that write them, from ``install`` until ``remove``.
"""

from __future__ import annotations

import logging

__all__ = ["TOKEN_LOGGERS", "Redact"]

# Logger filters do not apply to records propagated from children: name each logger.
TOKEN_LOGGERS = (
    "httpx",
    *(f"httpcore.{name}" for name in ("connection", "http11", "http2", "proxy", "socks")),
    *(f"telegram.{name}" for name in ("Bot", "BaseRequest", "HTTPXRequest")),
)


class Redact(logging.Filter):
    """Hides the bot token, which the Bot API puts in every request URL, and other secrets."""

    def __init__(self, token: str, *others: str) -> None:
        super().__init__()
        # The part after the colon is the secret, and survives URL-quoting unchanged.
        # PTB logs every call's parameters at debug level: setWebhook's secret_token too.
        # A secret of a few characters would blank those characters everywhere in the logs,
        # and hides nothing worth hiding.
        self.secrets = [token.partition(":")[2] or token, *(o for o in others if len(o) >= 6)]

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatted now, once: PTB logs getFile's result dict and then writes the tokened
        # download URL into it, which a handler formatting later (pytest's) would show.
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "<secret>")
        record.msg, record.args = message, ()
        return True

    def install(self) -> None:
        """Filter the records of every logger that may write the secrets."""
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        """Stop filtering: the channel is closed and its secrets no longer travel."""
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).removeFilter(self)
