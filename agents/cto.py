"""The CTO: hosting, infrastructure, costs and security; may run technical workflows."""

from equipage.roletools import DEFAULT_TOOLS

TOOLS = (*DEFAULT_TOOLS, "start_workflow")
