"""Marketing: launch posts, announcements, newsletters; may run market workflows."""

from equipage.roletools import DEFAULT_TOOLS

TOOLS = (*DEFAULT_TOOLS, "start_workflow")
