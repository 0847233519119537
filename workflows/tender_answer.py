"""The ``tender_answer`` workflow, by name: it lives in ``workflows.tenders.answer``.

Workflows are found as the modules of this package (``equipage.workflow``); this one is
kept beside the tender watch it belongs to, and named here so `equipage workflow run
tender_answer` and the crew's ``start_workflow`` find it.
"""

from workflows.tenders.answer import WORKFLOW, AnswerOutput, TenderAnswerInput

__all__ = ["WORKFLOW", "AnswerOutput", "TenderAnswerInput"]
