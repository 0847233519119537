"""Role agents: one module per role, its prompt (Markdown under ``prompts/``) and tool policy.

May import: ``equipage``.
"""
