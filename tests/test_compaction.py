"""Long threads are compacted: input per turn stops growing with the thread's length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from equipage.agent import thread_id
from equipage.compaction import SUMMARY_HEADING, estimate_tokens, split_for_compaction
from equipage.config import CompanyConfig
from equipage.crew import build_crew
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec
from tests.test_crew import company, crew_running


class Chatty:
    """Answers every request at length with a reply call; summarizes when asked."""

    name = "chatty"

    def __init__(self) -> None:
        self.turn_inputs: list[int] = []
        self.summaries = 0

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, on_text: Any = None
    ) -> Completion:
        if messages[0].content.startswith(SUMMARY_HEADING):
            self.summaries += 1
            return Completion(content=f"summary {self.summaries}: the founder asked many things")
        last = messages[-1]
        if last.role == "tool":
            return Completion(content="")
        self.turn_inputs.append(estimate_tokens(messages))
        text = f"Answer to '{last.content}': " + "details " * 120
        call = ToolCall(id=f"r{len(self.turn_inputs)}", name="reply", arguments={"text": text})
        return Completion(tool_calls=(call,))


def small_window() -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["runtime"].update(compact_at_tokens=2_000, keep_recent=6)
    return CompanyConfig.model_validate(data)


async def test_input_tokens_per_turn_stay_bounded_over_a_50_turn_thread(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = Chatty()
    async with crew_running(redis, keys, small_window(), models={"ceo": ceo}) as crew:
        for n in range(50):
            await crew.tell(f"question number {n} about our hosting offer")
            await crew.outbox(n + 1)
    assert len(ceo.turn_inputs) == 50
    assert ceo.summaries >= 5
    late = ceo.turn_inputs[10:]
    # Without compaction turn 50 would carry ~50 answers (~15k tokens); with it every
    # turn stays under the trigger plus one exchange.
    assert max(late) < 2_000 + 800, ceo.turn_inputs
    assert max(ceo.turn_inputs[-10:]) <= max(ceo.turn_inputs[10:20]) + 400


async def test_compacted_history_is_kept_in_the_checkpoint(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = Chatty()
    config = small_window()
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        for n in range(12):
            await crew.tell(f"question {n}")
            await crew.outbox(n + 1)
    graph = build_crew(config, redis, keys, models={"ceo": ceo}).handlers["ceo"]
    state = await graph.graph.aget_state(  # type: ignore[attr-defined]
        {"configurable": {"thread_id": thread_id("ceo", "console:alice")}}
    )
    messages: list[Message] = state.values["messages"]
    assert messages[0].name == "summary"
    assert messages[0].content.startswith("Summary of the earlier conversation:\nsummary ")
    assert len(messages) < 12 * 3


def test_cut_never_separates_a_tool_call_from_its_result() -> None:
    call = ToolCall(id="a", name="recall", arguments={"query": "x"})
    history = [
        Message.user("one"),
        Message.assistant("", (call,)),
        Message.tool(call, "found"),
        Message.assistant("done"),
        Message.user("two"),
        Message.assistant("ok"),
    ]
    older, kept = split_for_compaction(history, keep=2) or ([], [])
    assert kept[0].content == "two"
    assert [m.role for m in older] == ["user", "assistant", "tool", "assistant"]
    assert split_for_compaction(history[:4], keep=3) is None


async def test_offline_model_summarizes_by_extracting_each_turn() -> None:
    from equipage.compaction import summary_request
    from equipage.llm.offline import OfflineModel

    older = [Message.user("Prépare le devis pour Dupont", name="member:alice")]
    older += [Message.assistant("Devis envoyé à Dupont pour 1200 EUR")]
    completion = await OfflineModel().complete(summary_request(older), [])
    assert completion.tool_calls == ()
    assert "member:alice: Prépare le devis pour Dupont" in completion.content
    assert "1200 EUR" in completion.content
