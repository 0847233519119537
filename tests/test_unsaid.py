"""A model turn that ends with empty text still tells the person what was done."""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, ToolCall
from equipage.testing import ScriptedModel, call
from equipage.unsaid import tools_called, unsaid
from tests.test_crew import crew_running


def test_tools_called_counts_each_tool_of_the_turn_since_the_last_words_received() -> None:
    earlier = ToolCall(id="0", name="recall", arguments={})
    turn = [
        Message.assistant("", (earlier,)),
        Message.user("and now?", name="member:alice"),
        Message.assistant("", (ToolCall(id="1", name="remember", arguments={}),)),
        Message.assistant("", (ToolCall(id="2", name="delegate", arguments={}),) * 2),
    ]
    assert tools_called(turn) == [("remember", 1), ("delegate", 2)]


def test_unsaid_lists_what_was_done_or_says_nothing_was_in_english_and_french() -> None:
    done = [Message.assistant("", (ToolCall(id="1", name="remember", arguments={}),))]
    assert unsaid(done, "en") == "I finished without writing an answer. What I did: remember."
    assert unsaid(done, "fr") == (
        "J'ai terminé sans rédiger de réponse. Ce que j'ai fait : remember."
    )
    assert "without doing anything" in unsaid([Message.user("hi")], None)
    assert "sans rien faire" in unsaid([Message.user("salut")], "fr-FR")


async def test_turn_ending_in_empty_text_after_a_tool_replies_with_what_it_did(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel([call("remember", "c1", fact="closed in August"), Completion(content="")])
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("Remember that we are closed in August")
        (reply,) = await crew.outbox(1)
    assert reply.kind is Kind.REPLY and reply.to == "human"
    assert reply.text == "I finished without writing an answer. What I did: remember."


async def test_turn_ending_in_blank_text_without_tools_says_nothing_was_done_in_french(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel([Completion(content="  \n")])
    origin = Origin(channel="console", chat="alice", member="alice", language="fr")
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.bus.publish(
            Envelope(
                kind=Kind.TASK,
                company="acme",
                to="ceo",
                sender="member:alice",
                thread="console:alice",
                text="Bonjour, tu es là ?",
                origin=origin,
            )
        )
        (reply,) = await crew.outbox(1)
    assert reply.text.startswith("J'ai terminé sans rédiger de réponse, et sans rien faire.")
