"""Workflows: one LangGraph graph per recurring job, each with a typed input and output.

May import: ``equipage``.
"""
