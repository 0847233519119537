"""The handler of one workflow: a thread runner that checks its input and reports its output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import JsonValue, ValidationError

from equipage.envelope import Envelope, Kind
from equipage.errors import InputRejected
from equipage.failure_text import workflow_failed
from equipage.runtime.thread import ThreadRunner
from equipage.tools import answer, workflow_inbox
from equipage.workflow import Workflow, crew_refusal, with_settings


class WorkflowRunner(ThreadRunner):
    """The bus handler of one workflow: validates its input, reports its output back."""

    def __init__(
        self,
        workflow: Workflow,
        *args: Any,
        settings: Mapping[str, JsonValue] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workflow_inbox(workflow.name), *args, **kwargs)
        self.workflow = workflow
        #: company.yaml's ``workflows.<name>``: the owner's values under every run's input.
        self.settings = dict(settings or {})

    def _input(self, envelope: Envelope) -> dict[str, JsonValue]:
        call = envelope.workflow
        return with_settings(self.settings, call.input if call else {})

    async def __call__(self, envelope: Envelope) -> list[Envelope]:
        if envelope.kind is Kind.WORKFLOW:
            call = envelope.workflow
            # start_workflow refuses these already; a run from any other producer is
            # held to the same rule unless it says it is the owner's.
            refusal = None
            if call is not None and not call.by_owner:
                name, model = self.workflow.name, self.workflow.Input
                refusal = crew_refusal(name, model, call.input, self.settings)
            if refusal is not None:
                return self._failed(envelope, refusal=refusal)
            try:
                self.workflow.Input.model_validate(self._input(envelope))
            except ValidationError as err:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
                    for e in err.errors()
                )
                return self._failed(envelope, problems=problems)
        try:
            return await super().__call__(envelope)
        except InputRejected as rejected:
            # Content it was given cannot be used (a transcript in no known format...):
            # retrying will not help; whoever started it is told what to send instead.
            return self._failed(envelope, reason=str(rejected))

    def _failed(self, envelope: Envelope, **why: str) -> list[Envelope]:
        """A refused run's answer: the founder's language for them, English for a role."""
        ctx = self._context(envelope, {"reply_to": envelope.reply_to})
        language = self._language(ctx) if ctx.reply_to is None else None
        return [answer(ctx, workflow_failed(self.workflow.name, language, **why))]

    def start(self, envelope: Envelope) -> dict[str, Any]:
        return {
            "input": self.workflow.Input.model_validate(self._input(envelope)),
            "request": envelope,
            "origin": envelope.origin,
            "reply_to": envelope.reply_to,
            "hops": envelope.hops,
        }

    def finished(self, envelope: Envelope, values: dict[str, Any]) -> list[Envelope]:
        output = values.get("output")
        if output is None:
            return []
        summary = getattr(output, "summary", None)
        text = summary() if callable(summary) else output.model_dump_json(indent=2)
        request: Envelope | None = values.get("request")
        ctx = self._context(request or envelope, values)
        # A workflow that reads documents from outside hands back untrusted output; so does
        # a run whose output says it quotes outside words this time (a digest's tool names).
        outside = self.workflow.untrusted_output or getattr(output, "untrusted", False) is True
        ctx = replace(ctx, tainted=outside)
        return [answer(ctx, str(text))]
