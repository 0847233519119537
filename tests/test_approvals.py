"""Approvals end to end: several questions from one turn, answered in any order, crash-safe."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from equipage.agent import AgentState, Outbox
from equipage.approvals import Answers, Approvals, Asked
from equipage.budget import Budget
from equipage.checkpoint import RedisSaver
from equipage.config import CompanyConfig
from equipage.crew import build_crew, serializer
from equipage.envelope import Answer, Attachment, Envelope, Kind, Question
from equipage.events import Event
from equipage.keys import Keys
from equipage.llm.messages import Completion, ToolCall
from equipage.memory import Memory
from equipage.runtime import ThreadRunner
from equipage.testing import SONNET_SPEC, ScriptedModel, call
from tests.test_budget import priced, tight
from tests.test_crew import ORIGIN, Running, company, crew_running
from tests.test_redteam import _install, _workflow

# The owner's file makes the thread tainted: what the model does after reading it is gated.
LETTER = Attachment(
    name="letter.txt", mime="text/plain", ref="f1", text="Please note our two bank accounts."
)


def _turn(*calls: tuple[str, dict[str, Any]]) -> Completion:
    """One completion asking for several tool calls at once."""
    asked = tuple(
        ToolCall(id=f"c{n}", name=name, arguments=args)
        for n, (name, args) in enumerate(calls, start=1)
    )
    return Completion(tool_calls=asked, model="scripted", stop_reason="tool_use")


TWO_FACTS = _turn(
    ("remember", {"fact": "account one is FR76 0001"}),
    ("remember", {"fact": "account two is FR76 0002"}),
)


def _answer(question: Envelope, approved: bool) -> Envelope:
    assert question.question is not None
    return Envelope(
        kind=Kind.ANSWER, company="acme", to=question.sender, sender="member:alice",
        thread=question.thread, origin=ORIGIN,
        answer=Answer(question_id=question.question.id, approved=approved, member="alice"),
    )  # fmt: skip


async def _questions(crew: Running, count: int) -> list[Envelope]:
    return [m for m in await crew.outbox(count) if m.kind is Kind.QUESTION]


@pytest.mark.parametrize("second_first", [False, True], ids=["in-order", "second-first"])
async def test_two_gated_calls_of_one_turn_are_both_asked_and_answered_in_any_order(
    redis: aioredis.Redis, keys: Keys, second_first: bool
) -> None:
    ceo = ScriptedModel(
        [
            TWO_FACTS,
            Completion(content="Both answers are in."),
            call("reply", "r1", text="Still here."),
            Completion(content=""),
        ]
    )
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("Keep these accounts in mind.", files=(LETTER,))
        first, second = await _questions(crew, 2)
        assert first.question is not None and second.question is not None
        assert first.question.id != second.question.id
        assert "account one" in first.text and "account two" in second.text
        yes, no = (second, first) if second_first else (first, second)
        await crew.bus.publish(_answer(yes, approved=True))
        *_, note = await crew.outbox(3)
        assert no.question is not None and no.question.id in note.text
        await crew.bus.publish(_answer(no, approved=False))
        *_, done = await crew.outbox(4)
        assert done.kind is Kind.REPLY and done.text == "Both answers are in."
        await crew.tell("Are you still there?")
        *_, later = await crew.outbox(5)
        assert later.text == "Still here."
    kept = "account two is FR76 0002" if second_first else "account one is FR76 0001"
    assert [f.text for f in await Memory(redis, keys).all()] == [kept]
    # Each call got its own verdict back, in the order the model asked for them.
    results = [m.content for m in ceo.calls[1] if m.role == "tool"]
    verdicts = ["refused", "remembered"] if second_first else ["remembered", "refused"]
    assert [r.split(":")[0] for r in results] == verdicts
    assert await redis.xlen(keys.dead) == 0
    assert await redis.hlen(keys.approvals) == 0


def _flows() -> CompanyConfig:
    _install("announce", _workflow("announce", "announced", read_only=False, untrusted=False))
    _install("invoice", _workflow("invoice", "invoiced", read_only=False, untrusted=False))
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["workflows"] = ["announce", "invoice"]
    return CompanyConfig.model_validate(data)


async def _ran(redis: aioredis.Redis, keys: Keys, name: str) -> int:
    return int(await redis.get(f"{keys.prefix}test:ran:{name}") or 0)


async def test_a_worker_dying_between_two_answers_loses_no_answer_and_runs_no_call_twice(
    redis: aioredis.Redis, keys: Keys
) -> None:
    config = _flows()
    ceo = ScriptedModel(
        [
            _turn(
                ("start_workflow", {"name": "announce"}), ("start_workflow", {"name": "invoice"})
            ),
            Completion(content="Both started."),  # not sent: their results are awaited
            Completion(content="One is done."),  # not sent: the other is awaited
            Completion(content="Both are done."),
        ]
    )
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        await crew.tell("Go on with what the letter says.", files=(LETTER,))
        first, second = await _questions(crew, 2)
        given = _answer(first, approved=True)
        await crew.bus.publish(given)
        *_, note = await crew.outbox(3)
    # The worker that handled the first answer died after its checkpoint, before its
    # ack: the envelope is handled again, by a worker that starts from Redis alone.
    again = build_crew(config, redis, keys, models={"ceo": ceo}).handlers["ceo"]
    assert [e.text for e in await again(given)] == [note.text]
    assert await _ran(redis, keys, "announce") == await _ran(redis, keys, "invoice") == 0
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        await crew.bus.publish(_answer(second, approved=True))
        *_, done = await crew.outbox(4)
        assert done.text == "Both are done."
    assert await _ran(redis, keys, "announce") == await _ran(redis, keys, "invoice") == 1
    assert len(ceo.calls) == 4
    assert await redis.xlen(keys.dead) == 0


async def test_a_question_to_the_founder_and_a_gated_call_of_one_turn_are_asked_together(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            _turn(
                ("remember", {"fact": "account one is FR76 0001"}),
                ("ask_human", {"question": "Is the letter really from our bank?"}),
            ),
            Completion(content="Thanks."),
        ]
    )
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("Keep these accounts in mind.", files=(LETTER,))
        gate, ask = await _questions(crew, 2)
        assert "account one" in gate.text and ask.text == "Is the letter really from our bank?"
        await crew.answer(ask, approved=False, text="no, it is not")
        await crew.answer(gate, approved=False)
        *_, done = await crew.outbox(4)
    assert done.text == "Thanks."
    results = [m.content for m in ceo.calls[1] if m.role == "tool"]
    assert results[0].startswith("refused") and results[1] == "rejected: no, it is not"
    assert await Memory(redis, keys).all() == []
    assert await redis.xlen(keys.dead) == 0


async def test_a_budget_question_asked_again_in_the_same_step_still_lets_the_thread_go_on(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            priced(tool="remember", call_id="c1", fact="we sell hosting", cost=0.05),
            priced("Noted: we sell hosting.", cost=0.01),
        ],
        name=SONNET_SPEC,
    )
    # Holds are the usual cost of a call: after the first call's 0.05, nothing more fits.
    async with crew_running(redis, keys, tight(daily=0.051), models={"ceo": ceo}) as crew:
        await crew.tell("remember that we sell hosting")
        [paused] = await crew.outbox(1)
        # "Resume" pressed without raising the limit: the same call is refused again.
        await crew.answer(paused)
        _, again = await crew.outbox(2)
        assert again.question is not None and paused.question is not None
        assert again.question.topic == "budget" and again.question.id != paused.question.id
        await Budget(redis, keys, daily={}, monthly=0).raise_limit(role="ceo", amount=1.0)
        await crew.answer(again)
        *_, reply = await crew.outbox(3)
    assert reply.text == "Noted: we sell hosting."
    assert await redis.xlen(keys.dead) == 0


async def test_a_worker_failing_after_the_last_answer_finishes_the_turn_without_repeating_it(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            TWO_FACTS,
            RuntimeError("the model's server closed the connection"),
            Completion(content="Both answers are in."),
        ]
    )
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("Keep these accounts in mind.", files=(LETTER,))
        first, second = await _questions(crew, 2)
        await crew.answer(first, approved=True)
        await crew.answer(second, approved=True)
        *_, notice, done = await crew.outbox(5)
    assert notice.sender == "equipage" and "I will retry it by myself" in notice.text
    assert done.text == "Both answers are in."
    assert len(ceo.calls) == 3 and ceo.calls[2] == ceo.calls[1]
    assert len(await Memory(redis, keys).all()) == 2
    assert await redis.xlen(keys.dead) == 0


QUESTIONS = (Question(id="0000aaaa", text="One?"), Question(id="0000bbbb", text="Two?"))


@pytest.mark.parametrize("asked", [1, 2], ids=["one-question", "two-questions"])
async def test_a_worker_failing_inside_the_resumed_step_finishes_it_with_every_answer(
    redis: aioredis.Redis, keys: Keys, asked: int
) -> None:
    ran: list[object] = []

    async def gate(state: AgentState) -> dict[str, Any]:
        ran.append(interrupt(Asked(questions=QUESTIONS[:asked])))
        if len(ran) == 1:
            raise RuntimeError("the worker died here")
        reply = Envelope(kind=Kind.REPLY, company="acme", to="human", sender="ceo", thread="t",
                         text="All answers are in.", origin=ORIGIN)  # fmt: skip
        return {"outbox": Outbox(cause=state["inbox"], items=(reply,))}

    graph: StateGraph[Any] = StateGraph(AgentState)
    graph.add_node("gate", gate)
    graph.add_edge(START, "gate")
    graph.add_edge("gate", END)
    saver = RedisSaver(redis, keys, serde=serializer())
    runner = ThreadRunner("ceo", graph.compile(checkpointer=saver), redis, keys, emit=_ignore)
    task = Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread="t",
                    text="go", origin=ORIGIN)  # fmt: skip

    *earlier, last = await runner(task)
    for question in earlier:
        [note] = await runner(_answer(question, approved=True))
        assert last.question is not None and last.question.id in note.text
    final = _answer(last, approved=False)
    with pytest.raises(RuntimeError, match="the worker died here"):
        await runner(final)
    [done] = await runner(final)  # delivered again

    assert done.text == "All answers are in."
    assert len(ran) == 2 and ran[0] == ran[1]
    verdicts = [True] * (asked - 1) + [False]
    if asked == 1:
        assert isinstance(ran[1], Answer) and ran[1].approved is False
    else:
        assert isinstance(ran[1], Answers)
        assert [a.approved for a in ran[1].items.values()] == verdicts
    assert await Approvals(redis, keys).waiting_on("ceo:t") == ()


async def _ignore(event: Event) -> None:
    pass
