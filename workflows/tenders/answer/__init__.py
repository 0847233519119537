"""The ``tender_answer`` workflow: answer a public tender from the consultation's own files.

The founder sends the files (règlement de la consultation, CCTP, CCAP, BPU, acte
d'engagement, an eForms notice; PDF, DOCX or text), in chat or by path. Plain code reads
every requirement with a stable id and its source (``extract``): the award criteria and
their weights, the documents to hand in, the deadline, form limits and obligations; plans
one answer section per weighted criterion (``plan``); the model drafts each section from
the company's profile and memory, citing the ids (``draft``; a skeleton offline); the
compliance matrix says which section covers each requirement and how (``matrix``); the
answer is written as Markdown and DOCX with the matrix as a table (``export``).
Registered as a workflow by ``workflows.tender_answer``.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict, Field

from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import Asked, language_field, report_language
from workflows.tenders.answer.draft import Drafter
from workflows.tenders.answer.export import stem, write_files
from workflows.tenders.answer.extract import extract
from workflows.tenders.answer.matrix import matrix
from workflows.tenders.answer.plan import Section, plan
from workflows.tenders.answer.read import gather
from workflows.tenders.answer.render import answer_markdown
from workflows.tenders.answer.report import AnswerOutput
from workflows.tenders.answer.wording import words

__all__ = ["WORKFLOW", "AnswerOutput", "TenderAnswerInput"]


# Checkpoints record this class by module path: moved, saved checkpoints no longer revive it.
class TenderAnswerInput(BaseModel):
    """The consultation's files; with none given, the files sent with the request."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        [],
        max_length=20,
        description="the consultation's files (RC, CCTP, CCAP, BPU, AE...; PDF, DOCX or "
        "text): names of files sent with the request, or paths under the crew's files "
        "folder (any path on the owner's command line); none: every file sent is read",
    )
    text: str | None = Field(
        None, max_length=2_000_000, description="the consultation's text, pasted in the chat"
    )
    title: str = Field("", max_length=200, description="the consultation's name, for the title")
    language: Asked = language_field()


class _State(WorkflowState, total=False):
    pass


class TenderAnswer:
    name = "tender_answer"
    description = (
        "Answer a public tender from its own documents (règlement de la consultation, "
        "CCTP, CCAP, BPU, acte d'engagement, eForms; PDF or DOCX, sent in chat or by path): "
        "extracts the requirements (award criteria and weights, documents to provide, "
        "deadline, format limits, obligations) with ids, builds a compliance matrix, drafts "
        "the answer section by section from the company's profile and memory, and writes "
        "it as Markdown and DOCX. Input: paths (default: the files sent), text, language"
    )
    handles = (
        "répondre à l'appel d'offres",
        "réponse à l'appel d'offres",
        "répondre à ce marché",
        "dossier de consultation",
        "règlement de consultation",
        "règlement de la consultation",
        "cctp",
        "dce",
        "mémoire technique",
        "matrice de conformité",
        "answer the tender",
        "answer this tender",
        "tender answer",
        "tender response",
        "compliance matrix",
    )
    # It reads the files it is given and the crew's memory, and writes in its own folder.
    read_only = True
    untrusted_output = True  # the report quotes the buyer's documents
    Input = TenderAnswerInput
    Output = AnswerOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        async def answer(state: _State) -> dict[str, Any]:
            return {"output": await _answer(ctx, state)}

        graph: StateGraph[Any] = StateGraph(_State)
        graph.add_node("answer", answer)
        graph.add_edge(START, "answer")
        graph.add_edge("answer", END)
        return graph


async def _answer(ctx: WorkflowContext, state: _State) -> AnswerOutput:
    params: TenderAnswerInput = state["input"]
    request = state.get("request")
    language = report_language(params.language, ctx.profile, state.get("origin"))
    sources, unread = await gather(ctx, params.paths, params.text, request)
    names = [s.name for s in sources]
    if not sources:
        refused = words(language).nothing
        return AnswerOutput(language=language, unread=unread, refused=refused)
    steps = words(language)  # the founder's, as the report; the answer is the buyer's
    await ctx.progress(f"tender_answer: {steps.reading.format(count=len(sources))}")
    extraction = extract(sources)
    say = words(extraction.language)
    sections = plan(extraction, say)
    drafter = Drafter(ctx, extraction, say)
    written = []
    for section in sections:
        await ctx.progress(f"tender_answer: {steps.drafting.format(id=section.id)}")
        written.append(await drafter.section(section))
    rows = matrix(extraction.requirements, sections, written)
    title = f"{say.answer} — {params.title or ', '.join(names)}"
    markdown = answer_markdown(title, extraction.deadline, rows, sections, written, say)
    files = write_files(ctx.files, stem(names), markdown, rows, say, title)
    bys = dict.fromkeys(w.by for w in written if w.section in _argued(sections))
    return AnswerOutput(
        language=language,
        answer_language=extraction.language,
        documents=names,
        unread=unread,
        deadline=extraction.deadline,
        rows=rows,
        sections=sections,
        written=written,
        files=[str(f) for f in files],
        by=", ".join(bys),
    )


def _argued(sections: list[Section]) -> set[str]:
    return {s.id for s in sections if s.kind in ("presentation", "criterion", "compliance")}


WORKFLOW = TenderAnswer()
