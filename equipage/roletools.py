"""The crew's tool names, and what a role gets when neither its module nor company.yaml
says: the one list of each.

Each packaged role's own default lives beside its prompt, as ``TOOLS`` in
``agents/<role>.py`` (read through ``equipage.registry.role_tools``); a role's ``tools:``
in company.yaml replaces it.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["DEFAULT_TOOLS", "KNOWN_TOOLS", "PACKAGED_ROLES"]

#: Every tool a role may be given, in the order they are offered to the model.
KNOWN_TOOLS = ("delegate", "reply", "remember", "recall", "ask_human", "start_workflow")

#: A role that neither hands work to others nor starts workflows.
DEFAULT_TOOLS = ("reply", "remember", "recall", "ask_human")

#: Roles whose prompt ships in ``agents/prompts``.
PACKAGED_ROLES = tuple(
    sorted(
        entry.name.removesuffix(".md")
        for entry in (files("agents") / "prompts").iterdir()
        if entry.name.endswith(".md")
    )
)
