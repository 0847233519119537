"""Support: answers customers; never promises refunds without the founder's approval."""

from equipage.roletools import DEFAULT_TOOLS

TOOLS = DEFAULT_TOOLS
