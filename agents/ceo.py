"""The CEO: receives the founder's requests, delegates, decides, asks before acting."""

from equipage.roletools import KNOWN_TOOLS

TOOLS = KNOWN_TOOLS
