"""Marketing: launch posts, announcements, newsletters; may run market workflows."""

TOOLS = ("reply", "remember", "recall", "ask_human", "start_workflow")
