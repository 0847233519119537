"""Support: answers customers; never promises refunds without the founder's approval."""

TOOLS = ("reply", "remember", "recall", "ask_human")
