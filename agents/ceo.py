"""The CEO: receives the founder's requests, delegates, decides, asks before acting."""

TOOLS = ("delegate", "reply", "remember", "recall", "ask_human", "start_workflow")
