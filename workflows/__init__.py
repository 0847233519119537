"""Workflows: one LangGraph graph per recurring job, each with a typed input and output.

``digest`` (what the crew did), ``tenders`` (TED and BOAMP watch with drafted answers),
``migration`` (Google Cloud to Scaleway or Hetzner), ``coaching`` (speaking feedback from a
transcript), ``live_assist`` (suggestions during a call). A module whose name starts with
``_`` is shared code, not a workflow.

May import: ``equipage``.
"""
