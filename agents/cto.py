"""The CTO: hosting, infrastructure, costs and security; may run technical workflows."""

TOOLS = ("reply", "remember", "recall", "ask_human", "start_workflow")
