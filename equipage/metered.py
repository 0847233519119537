"""One model call billed to a budget: its cost held before the call, settled after.

Agents and workflows both call models on a role's budget. This is the one place that
sizes the hold, calls, and replaces the hold by the real cost, so that no caller can
forget to free a failed call's hold. What a caller does when the budget is reached
differs: an agent pauses its thread on a budget question (``ask_to_raise``), a
workflow writes from its template instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from langgraph.types import interrupt

from equipage import tracing
from equipage.budget import Budget, Refusal, sample_of, worst_case_tokens
from equipage.costbook import record_call
from equipage.envelope import Answer, Question
from equipage.llm.base import ChatModel, TextSink
from equipage.llm.messages import Completion, Message, ToolSpec
from equipage.llm.pricing import price_of, worst_case
from equipage.metrics import model_called
from equipage.tools import question_id

__all__ = ["Metered", "Reserve", "ask_to_raise"]

#: Holds an amount on a budget for a call: a hold id, or the refusal that stands (the
#: call is not made).
Reserve = Callable[[Budget, float], Awaitable[str | Refusal]]


@dataclass(frozen=True)
class Metered:
    """A model whose calls are paid from ``role``'s budget (free when there is none).

    ``hold`` sizes each call's hold. ``"usual"``: what the role's recent calls on the
    model cost, and each finished call teaches the next estimate (see
    ``equipage/budget.py`` for the bounded overrun this allows). ``"worst"``: the call's
    worst case, which never overruns; for a caller that cannot pause on a budget
    question, and whose calls are not the role's own turns to learn from.

    ``workflow`` names the workflow a call writes for ("" for the role's own turns): the
    cost book (``equipage.costbook``) counts each call by role, model and workflow.
    """

    model: ChatModel
    budget: Budget | None
    role: str
    max_tokens: int = 4096
    hold: Literal["usual", "worst"] = "usual"
    workflow: str = ""

    async def complete(
        self,
        prompt: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        thread: str,
        reserve: Reserve | None = None,
        on_text: TextSink | None = None,
    ) -> Completion | Refusal:
        """The model's completion, billed to ``thread``; the refusal if none was made.

        ``reserve`` holds the amount (default: the budget's ``reserve`` for the role,
        refused at once when a limit is reached).
        """
        budget = self.budget
        if budget is None or price_of(self.model.name) is None:
            free = await tracing.chat(self.model, prompt, tools, on_text)
            model_called(self.model.name, self.role, free.usage)
            await self._book(free)
            return free
        need = worst_case_tokens(prompt, tools)
        if self.hold == "usual":
            amount = await budget.usual_cost(self.role, self.model.name, need, self.max_tokens)
        else:
            amount = worst_case(self.model.name, need, self.max_tokens)
        if reserve is None:
            verdict = await budget.reserve(self.role, amount)
        else:
            verdict = await reserve(budget, amount)
        if isinstance(verdict, Refusal):
            return verdict
        try:
            done = await tracing.chat(self.model, prompt, tools, on_text)
        except BaseException:
            # A failed call bills nothing; its hold must not linger until it expires.
            await budget.settle(verdict, self.role, 0.0, thread)
            raise
        sample = sample_of(self.model.name, need, done.usage) if self.hold == "usual" else None
        await budget.settle(verdict, self.role, done.usage.cost, thread, sample)
        model_called(self.model.name, self.role, done.usage)
        await self._book(done)
        return done

    async def _book(self, done: Completion) -> None:
        """Count the call in the cost book; without a budget there is no Redis to count in."""
        if self.budget is None:
            return
        await record_call(
            self.budget.redis,
            self.budget.keys,
            role=self.role,
            model=self.model.name,
            workflow=self.workflow,
            usage=done.usage,
        )


def ask_to_raise(role: str, *, envelope: str, key: str) -> Reserve:
    """Hold for ``role``; while refused, pause the graph's thread on a budget question.

    Each pause is a LangGraph interrupt: the thread waits (across restarts) until the
    limit is raised, which answers the question and re-runs this check, or until the
    founder rejects it (the refusal stands). ``key`` tells this call's questions from
    the thread's others; ``envelope`` tags the hold (see ``Budget.reserve``).
    """

    async def reserve(budget: Budget, amount: float) -> str | Refusal:
        attempt = 0
        while True:
            verdict = await budget.reserve(role, amount, envelope=envelope)
            if not isinstance(verdict, Refusal):
                return verdict
            question = Question(
                id=question_id(role, key, f"budget-{attempt}"),
                text=verdict.message(),
                options=("resume", "stop"),
                topic="budget",
            )
            if not Answer.model_validate(interrupt(question)).approved:
                return verdict
            attempt += 1

    return reserve
