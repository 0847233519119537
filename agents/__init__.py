"""Role agents: one module per role, its prompt (Markdown under ``prompts/``) and tool policy.

A role's module names the tools it gets when company.yaml gives it none (``TOOLS``, from
the names in ``equipage.roletools``); a role without a module gets ``DEFAULT_TOOLS``.

May import: ``equipage``.
"""
