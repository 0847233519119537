"""The ``tenders`` workflow: watch TED and BOAMP, rank what fits, draft the answers.

Graph: fetch (sources, retried; a failing source leaves partial results) -> triage
(seen register: new, changed, cancelled, repeated) -> rank (matcher; new matches are
claimed so no run reports them twice) -> draft (memo, outline, letter for the picked
tenders) -> approve (the founder says whether to export) -> export (Markdown + DOCX)
-> report. Everything but the drafts' prose is plain code, so an offline run is useful.
The report, the approval question, the progress steps and each go/no-go memo are in the
founder's language (input ``language``, else the company's first language); the answer
outline and the cover letter are in the notice's language, the buyer's.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field

from equipage.config import TenderProfile
from equipage.envelope import Answer, Envelope, Question
from equipage.tools import question_id
from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import Asked, language_field, report_language
from workflows.tenders.account import account_for
from workflows.tenders.drafts import Draft, Drafter
from workflows.tenders.export import export, planned
from workflows.tenders.matching import Match, Rejection, match
from workflows.tenders.model import Tender
from workflows.tenders.phrases import phrases
from workflows.tenders.report import TendersOutput
from workflows.tenders.seen import Change, SeenRegister, Triage
from workflows.tenders.sources import SourceFailure, SourcesConfig, fetch_tenders

__all__ = ["BUNDLED_TODAY", "WORKFLOW", "TendersInput", "TendersOutput"]

#: The day a run on the bundled notices (real, published 2016-2021) is dated by default:
#: the EU Publications Office's IT services call is open then, its cancellation not yet out.
BUNDLED_TODAY = date(2019, 12, 2)


# Checkpoints record this class by module path: moved, saved checkpoints no longer revive it.
class TendersInput(BaseModel):
    """What to watch and what to draft; the defaults watch TED and BOAMP for 7 days."""

    model_config = ConfigDict(extra="forbid")

    sources: SourcesConfig = Field(
        default_factory=SourcesConfig, description="where to look (bundled: offline demo)"
    )
    pick: int = Field(1, ge=0, le=5, description="how many of the best new matches to draft")
    ids: list[str] = Field(
        [], description="tender ids to draft instead (e.g. 'ted:…' from an earlier list)"
    )
    today: date | None = Field(
        None,
        description="the day deadlines count from; default today, or 2019-12-02 on the "
        "bundled notices",
    )
    profile: TenderProfile | None = Field(
        None, description="overrides company.profile.tenders for this run"
    )
    explain: list[str] = Field(
        [], description="notice ids to explain in full: why each was kept or ruled out"
    )
    language: Asked = language_field()

    @classmethod
    def bundled(cls, **changes: Any) -> TendersInput:
        """The offline demo: the real notices shipped with Equipage, no network."""
        sources = SourcesConfig(bundled=True, ted=False, boamp=False)
        return cls.model_validate({"sources": sources, **changes})


class _State(WorkflowState, total=False):
    run: str
    language: str  # of the report: "fr" or "en"
    bundled: bool  # the input's sources, or company.yaml's tenders.bundled
    today: str
    tenders: list[Tender]
    late: list[Tender]  # published after ``today``: left out, still accounted for
    seen_ids: list[str]  # notices reported by an earlier (or a concurrent) run
    profile: dict[str, Any]  # the TenderProfile matched on, as JSON
    failures: list[SourceFailure]
    fetched: dict[str, int]
    unpublished: int
    # Only Input/Output types (and JSON) survive a checkpoint: Triage travels as JSON.
    triage: dict[str, Any]
    ranked: list[Match]
    upcoming: list[Match]
    rejected: list[Rejection]
    changes: list[Change]
    repeated: int
    drafts: list[Draft]
    missing: list[str]
    export: Literal["none", "pending", "approved", "rejected"]
    export_note: str
    files: list[str]
    notes: list[str]


class Tenders:
    name = "tenders"
    description = (
        "Public tender watch: fetches new notices from TED (EU) and BOAMP (France), ranks "
        "those that fit the company's tender profile with reasons, reports changes and "
        "cancellations of notices seen before, drafts a bid/no-bid memo, answer outline and "
        "cover letter for the best (or the picked 'ids'), and asks approval to export them "
        "as Markdown and DOCX. The report lists every notice read with what became of it "
        "(matched, ruled out and why, award, already seen). Input: pick (default 1), ids, "
        "sources {bundled: true for the offline demo}, language (fr|en: the report's; default "
        "the company's), explain (notice ids to explain in full: why one was ruled out), "
        "profile (a changed tender profile for this run: cpv, keywords, exclude, countries)"
    )
    # Words that mean public tenders and little else ("bid", "TED", "consultation" do not).
    handles = (
        "tender", "tenders", "call for tenders", "public procurement", "rfp",
        "appel d'offres", "appels d'offres", "marché public", "marchés publics", "boamp",
        "avis de marché", "commande publique",
    )  # fmt: skip
    # Not read-only: a run marks notices as reported in the seen register (a run started
    # by a document's hidden instruction could swallow this week's notices) and fetches
    # from outside (base URLs from company.yaml or the owner's command line only, see
    # SourcesConfig). Files are written only after the founder approves.
    read_only = False
    untrusted_output = True  # notices are outside content
    Input = TendersInput
    Output = TendersOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        nodes = _Nodes(ctx, self.name)
        graph: StateGraph[Any] = StateGraph(_State)
        graph.add_node("fetch", nodes.fetch)
        graph.add_node("triage", nodes.triage)
        graph.add_node("rank", nodes.rank)
        graph.add_node("draft", nodes.draft)
        graph.add_node("approve", nodes.approve)
        graph.add_node("export", nodes.write)
        graph.add_node("report", _report)
        graph.add_edge(START, "fetch")
        graph.add_edge("fetch", "triage")
        graph.add_edge("triage", "rank")
        graph.add_edge("rank", "draft")
        graph.add_edge("draft", "approve")
        graph.add_edge("approve", "export")
        graph.add_edge("export", "report")
        graph.add_edge("report", END)
        return graph


class _Nodes:
    """The nodes that need the run's context, or what is built from it once per crew."""

    def __init__(self, ctx: WorkflowContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.seen = SeenRegister(ctx.redis, ctx.keys)
        self.where = ctx.profile.where if ctx.profile else ()
        company = ctx.company_name or ctx.company.replace("-", " ").title()
        self.drafter = Drafter(ctx, company=company, where=self.where)

    def profile_of(self, params: TendersInput) -> TenderProfile:
        """The run's tender profile: the input's, else company.yaml's, else the default."""
        if params.profile is not None:
            return params.profile
        profile = self.ctx.profile
        return (profile.tenders if profile else None) or TenderProfile()

    async def fetch(self, state: _State) -> dict[str, Any]:
        """Read the sources as of the run's day; a failing source leaves partial results."""
        ctx = self.ctx
        params: TendersInput = state["input"]
        sources = params.sources
        if "sources" not in params.model_fields_set and self.profile_of(params).bundled:
            # company.yaml asks for the shipped notices (a demo, a machine offline).
            sources = TendersInput.bundled().sources
        default = BUNDLED_TODAY if sources.bundled else date.today()
        today = params.today or default
        language = report_language(params.language, ctx.profile, state.get("origin"))
        say = phrases(language)
        steps = say.progress
        where = steps["bundled" if sources.bundled else "live"]
        await ctx.progress(f"tenders: {steps['reading'].format(where=where, today=today)}")
        report = await fetch_tenders(sources, self.profile_of(params), today=today)
        # A notice published after ``today`` did not exist yet (bundled or replayed data).
        tenders = [t for t in report.tenders if t.published is None or t.published <= today]
        failed = ", ".join(f.source for f in report.failures)
        await ctx.progress(
            f"tenders: {steps['read'].format(count=len(report.tenders))}"
            + (steps["failed"].format(sources=failed) if failed else "")
        )
        notes = []
        if sources.bundled:
            notes.append(say.bundled_note.format(today=today))
        if not (params.profile or (ctx.profile and ctx.profile.tenders)):
            notes.append(say.no_profile_note)
        request: Envelope | None = state.get("request")
        return {
            "notes": notes,
            "language": language,
            "bundled": sources.bundled,
            "run": request.id if request else uuid.uuid4().hex,
            "today": today.isoformat(),
            "tenders": tenders,
            "late": [t for t in report.tenders if t.published and t.published > today],
            "profile": self.profile_of(params).model_dump(mode="json"),
            "failures": report.failures,
            "fetched": report.fetched,
            "unpublished": len(report.tenders) - len(tenders),
        }

    async def triage(self, state: _State) -> dict[str, Any]:
        """Sort the notices against the seen register: new, changed, cancelled, repeated."""
        today = date.fromisoformat(state["today"])
        found = await self.seen.triage(state["tenders"], run=state["run"], today=today)
        await self.seen.prune(today=today)
        return {"triage": found.model_dump(mode="json")}

    async def rank(self, state: _State) -> dict[str, Any]:
        """Rank the new notices; the matches are claimed so no other run reports them."""
        params: TendersInput = state["input"]
        today = date.fromisoformat(state["today"])
        found = Triage.model_validate(state["triage"])
        ranking = match(
            [f.tender for f in found.new], self.profile_of(params), where=self.where, today=today
        )
        kept = {m.tender.id for m in (*ranking.matches, *ranking.upcoming)}
        fresh = [f for f in found.new if f.tender.id in kept]
        claims = await self.seen.claim(fresh, run=state["run"], today=today)
        claimed = {f.tender.id for f in claims}
        ranking = ranking.model_copy(
            update={
                "matches": tuple(m for m in ranking.matches if m.tender.id in claimed),
                "upcoming": tuple(m for m in ranking.upcoming if m.tender.id in claimed),
            }
        )
        steps = phrases(state.get("language", "en")).progress
        await self.ctx.progress(f"tenders: {steps['matches'].format(n=len(ranking.matches))}")
        return {
            "ranked": list(ranking.matches),
            "upcoming": list(ranking.upcoming),
            "rejected": list(ranking.rejected),
            "changes": list(found.changes),
            "repeated": len(found.repeated) + len(fresh) - len(claimed),
            "seen_ids": [*found.repeated, *(i for f in fresh if (i := f.tender.id) not in claimed)],
        }

    async def draft(self, state: _State) -> dict[str, Any]:
        """Memo, outline and letter for each tender picked."""
        params: TendersInput = state["input"]
        today = date.fromisoformat(state["today"])
        profile = self.profile_of(params)
        picks, missing = _picks(params, state, profile, self.where, today)
        drafts = []
        reader = state.get("language", "en")
        steps = phrases(reader).progress
        for found in picks:
            await self.ctx.progress(f"tenders: {steps['drafting'].format(id=found.tender.id)}")
            drafts.append(await self.drafter.draft(found, today=today, reader=reader))
        return {"drafts": drafts, "missing": missing}

    def approve(self, state: _State) -> dict[str, Any]:
        """Ask the founder whether to export the drafts."""
        drafts = state.get("drafts") or []
        if not drafts:
            return {"export": "none"}
        files = [str(path) for path in planned(drafts, self.ctx.files)]
        request: Envelope | None = state.get("request")
        question = Question(
            id=question_id(
                f"workflow.{self.name}",
                request.thread if request else state["run"],
                f"export:{state['run']}",
            ),
            text=_output(state, export="pending").question(files),
        )
        # The node re-runs from here on resume; the export itself is the next node.
        given = Answer.model_validate(interrupt(question))
        return {
            "export": "approved" if given.approved else "rejected",
            "export_note": given.text,
        }

    async def write(self, state: _State) -> dict[str, Any]:
        """Export the drafts as Markdown and DOCX, once approved."""
        if state.get("export") != "approved":
            return {}
        paths = export(state.get("drafts") or [], self.ctx.files)
        steps = phrases(state.get("language", "en")).progress
        await self.ctx.progress(f"tenders: {steps['exported'].format(n=len(paths))}")
        return {"files": [str(path) for path in paths]}


async def _report(state: _State) -> dict[str, Any]:
    return {"output": _output(state, export=state.get("export", "none"))}


def _picks(
    params: TendersInput,
    state: _State,
    profile: TenderProfile,
    where: tuple[str, ...],
    today: date,
) -> tuple[list[Match], list[str]]:
    """The matches to draft: the founder's ids, else the best new ones; ids not found."""
    if not params.ids:
        return list(state.get("ranked", [])[: params.pick]), []
    tenders = {t.id: t for t in state["tenders"]}
    by_notice = {t.notice_id: t for t in state["tenders"]}
    picks, missing = [], []
    for wanted in dict.fromkeys(params.ids):
        tender = tenders.get(wanted) or by_notice.get(wanted)
        if tender is None:
            missing.append(wanted)
            continue
        # A notice reported on an earlier run is still drafted when the founder picks it.
        judged = match([tender], profile, where=where, today=today)
        if judged.matches or judged.upcoming:
            picks.append((judged.matches or judged.upcoming)[0])
        else:
            why = (judged.rejected[0].reason,)
            picks.append(Match(tender=tender, score=0, reasons=why, ruled_out=True))
    return picks, missing


def _output(state: _State, *, export: str) -> TendersOutput:
    params: TendersInput = state["input"]
    notices = account_for(
        state.get("tenders", []),
        ranked=state.get("ranked", []),
        upcoming=state.get("upcoming", []),
        rejected=state.get("rejected", []),
        changes=state.get("changes", []),
        seen=state.get("seen_ids", []),
        unpublished=state.get("late", []),
    )
    return TendersOutput.model_validate(
        {
            "today": date.fromisoformat(state["today"]),
            "language": state.get("language", "en"),
            "bundled": state.get("bundled", params.sources.bundled),
            "fetched": state.get("fetched", {}),
            "failures": state.get("failures", []),
            "unpublished": state.get("unpublished", 0),
            "ranked": state.get("ranked", []),
            "upcoming": state.get("upcoming", []),
            "rejected": state.get("rejected", []),
            "changes": state.get("changes", []),
            "repeated": state.get("repeated", 0),
            "drafts": state.get("drafts", []),
            "missing": state.get("missing", []),
            "export": export,
            "export_note": state.get("export_note", ""),
            "files": state.get("files", []),
            "notes": state.get("notes", []),
            "notices": notices,
            "explain": params.explain,
            "profile": state.get("profile"),
        }
    )


WORKFLOW = Tenders()
