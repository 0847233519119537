"""The offline model's rules: routing, waiting for results, approvals, memory, language."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from equipage.config import PACKAGED_ROLES, CompanyConfig, load_prompt
from equipage.crew import build_crew
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec
from equipage.llm.offline import (
    APPROVED,
    APPROVED_FR,
    OFFLINE_NOTE,
    OFFLINE_NOTE_FR,
    OfflineModel,
)
from equipage.prompting import TeamMember, fill, result_text, team_section
from equipage.testing import wait_for_stream
from equipage.worker import Worker

TEAM = [
    TeamMember("cto", "Hosting and its costs", ("hosting", "cost", "hébergement", "coût")),
    TeamMember(
        "marketing",
        "Launch posts and announcements",
        ("launch post", "announcement", "post de lancement", "annonce"),
    ),
    TeamMember("support", "Customers and refunds", ("customer", "refund", "client")),
]
SYSTEM = (
    "# CEO of Acme\n\nYou run Acme.\n\n"
    "## Answer template\n**Status note**\n\n**Request:** {brief}\n\n**Next step:** {owner}\n\n"
    + team_section(TEAM)
)
ALL_TOOLS = ("delegate", "reply", "remember", "recall", "ask_human", "start_workflow")
ALICE = "member:alice"

EN_REQUEST = "We launch next week: I need a launch post and a hosting cost note, then we publish."
FR_REQUEST = "Il me faut un post de lancement et une note sur les coûts d'hébergement"
FR_PUBLISH = FR_REQUEST + ", puis on publie."


def tools(*names: str) -> list[ToolSpec]:
    return [
        ToolSpec(name=n, description=n, parameters={"type": "object"}) for n in names or ALL_TOOLS
    ]


def start(text: str, *, name: str | None = ALICE) -> list[Message]:
    return [Message.system(SYSTEM), Message.user(text, name=name)]


async def turn(conversation: list[Message], *names: str) -> Completion:
    """One model call; its answer joins the conversation, as the agent graph does."""
    done = await OfflineModel().complete(conversation, tools(*names))
    conversation.append(Message.assistant(done.content, done.tool_calls))
    return done


def run_tools(conversation: list[Message], done: Completion, **results: str) -> None:
    for call in done.tool_calls:
        conversation.append(Message.tool(call, results.get(call.name, f"{call.name}: ok")))


def deliver(conversation: list[Message], call: ToolCall, text: str) -> None:
    role = str(call.arguments["role"])
    conversation.append(Message.user(result_text(role, call.id, text), name=role))


async def delegated(request: str) -> tuple[list[Message], dict[str, ToolCall]]:
    """A conversation where the CEO delegated ``request`` and acknowledged it to the founder."""
    conversation = start(request)
    delegation = await turn(conversation)
    run_tools(conversation, delegation)
    ack = await turn(conversation)
    run_tools(conversation, ack, reply="sent to the founder")
    done = await turn(conversation)  # after the acknowledgement: nothing more to do
    assert (done.content, done.tool_calls) == ("", ())
    return conversation, {str(c.arguments["role"]): c for c in delegation.tool_calls}


async def approval_asked(request: str) -> tuple[list[Message], ToolCall]:
    """A conversation paused on the CEO's ask_human after both results came back."""
    conversation, calls = await delegated(request)
    deliver(conversation, calls["cto"], "Hosting costs about 40 EUR a month.")
    deliver(conversation, calls["marketing"], "Draft: Acme Pro is here.")
    done = await turn(conversation)
    [ask] = done.tool_calls
    assert ask.name == "ask_human"
    return conversation, ask


# -- routing ------------------------------------------------------------------------------------
async def test_english_request_is_delegated_to_exactly_the_roles_it_mentions() -> None:
    done = await turn(start(EN_REQUEST))

    assert [c.name for c in done.tool_calls] == ["delegate", "delegate"]
    assert {c.arguments["role"] for c in done.tool_calls} == {"cto", "marketing"}
    assert all(c.arguments["brief"] == EN_REQUEST for c in done.tool_calls)
    assert done.stop_reason == "tool_use"
    assert len({c.id for c in done.tool_calls}) == 2


async def test_french_request_is_routed_despite_accents_apostrophes_and_plurals() -> None:
    done = await turn(start(FR_REQUEST))

    assert {c.arguments["role"] for c in done.tool_calls} == {"cto", "marketing"}
    assert {c.name for c in done.tool_calls} == {"delegate"}


async def test_keyword_inside_another_word_does_not_route() -> None:
    # "costume" holds "cost" and "postage" holds "post", but not as whole words.
    done = await turn(start("Plan the costume party and check the postage"))

    assert [c.name for c in done.tool_calls] == ["reply"]


async def test_request_without_any_keyword_fills_the_answer_template_with_the_brief() -> None:
    request = "What should we do about the office plants?"

    done = await turn(start(request, name="ceo"))

    [reply] = done.tool_calls
    assert reply.name == "reply"
    # Only {brief} is filled; other braces stay as the prompt's author wrote them.
    assert reply.arguments["text"] == (
        f"**Status note**\n\n**Request:** {request}\n\n**Next step:** {{owner}}"
    )


async def test_role_without_the_delegate_tool_answers_itself() -> None:
    done = await turn(start(EN_REQUEST, name="ceo"), "reply", "remember")

    [reply] = done.tool_calls
    assert reply.name == "reply"
    assert EN_REQUEST in str(reply.arguments["text"])


@pytest.mark.parametrize(
    ("request_text", "note"),
    [
        ("What should we do about the office plants?", OFFLINE_NOTE),
        ("Que faut-il faire pour les plantes du bureau ?", OFFLINE_NOTE_FR),
    ],
)
async def test_reply_to_a_person_carries_the_offline_note_in_the_requests_language(
    request_text: str, note: str
) -> None:
    done = await turn(start(request_text))

    [reply] = done.tool_calls
    assert str(reply.arguments["text"]).endswith(f"\n\n{note}")
    assert request_text in str(reply.arguments["text"])


async def test_reply_to_another_role_does_not_carry_the_offline_note() -> None:
    done = await turn(start("What should we do about the office plants?", name="ceo"))

    assert "offline model" not in str(done.tool_calls[0].arguments["text"])


# -- delegation and approval ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (EN_REQUEST, "I have asked cto and marketing; I will come back to you with their work."),
        (
            FR_REQUEST,
            "J'ai confié cela à cto et marketing ; je reviens vers vous avec leur travail.",
        ),
    ],
)
async def test_founder_is_told_whom_the_work_was_given_to(request_text: str, expected: str) -> None:
    conversation = start(request_text)
    run_tools(conversation, await turn(conversation))

    done = await turn(conversation)

    [ack] = done.tool_calls
    assert ack.name == "reply"
    assert str(ack.arguments["text"]).startswith(expected)


async def test_role_delegating_for_another_role_waits_without_replying() -> None:
    conversation = start(EN_REQUEST, name="ceo")
    run_tools(conversation, await turn(conversation))

    done = await turn(conversation)

    assert done.tool_calls == ()
    assert done.content == "Waiting for results from cto, marketing."


async def test_with_one_result_missing_it_waits_without_calling_a_tool() -> None:
    conversation, calls = await delegated(EN_REQUEST)
    deliver(conversation, calls["cto"], "Hosting costs about 40 EUR a month.")

    done = await turn(conversation)

    assert done.tool_calls == ()
    assert done.content == "Waiting for results from marketing."
    assert done.stop_reason == "end_turn"


async def test_once_both_results_are_in_it_asks_before_publishing_with_both_results() -> None:
    _, ask = await approval_asked(EN_REQUEST)

    question = str(ask.arguments["question"])
    assert question.startswith("Here is what the team prepared:")
    assert "**cto**\nHosting costs about 40 EUR a month." in question
    assert "**marketing**\nDraft: Acme Pro is here." in question
    assert question.endswith("Shall I publish it?")


async def test_french_request_to_publish_is_put_to_the_founder_in_french() -> None:
    _, ask = await approval_asked(FR_PUBLISH)

    question = str(ask.arguments["question"])
    assert question.startswith("Voici ce que l'équipe a préparé :")
    assert question.endswith("Je publie ?")


async def test_results_of_a_request_that_publishes_nothing_are_replied_directly() -> None:
    request = "Give me a hosting cost note and a customer refund summary."
    conversation, calls = await delegated(request)
    deliver(conversation, calls["cto"], "40 EUR a month.")
    deliver(conversation, calls["support"], "Two refunds this week.")

    done = await turn(conversation)

    [reply] = done.tool_calls
    assert reply.name == "reply"
    text = str(reply.arguments["text"])
    assert "**cto**\n40 EUR a month." in text
    assert "**support**\nTwo refunds this week." in text
    assert text.endswith(OFFLINE_NOTE)


@pytest.mark.parametrize(
    ("request_text", "answer", "expected"),
    [
        (EN_REQUEST, "approved", APPROVED),
        (EN_REQUEST, "approved: go", APPROVED),
        (EN_REQUEST, "rejected: too early", "Understood, nothing was published (too early)."),
        (EN_REQUEST, "rejected", "Understood, nothing was published (no reason given)."),
        (FR_PUBLISH, "approved", APPROVED_FR),
        (FR_PUBLISH, "rejected: trop tôt", "Entendu, je ne publie pas (trop tôt)."),
    ],
)
async def test_after_the_founders_answer_it_confirms_what_happened(
    request_text: str, answer: str, expected: str
) -> None:
    conversation, ask = await approval_asked(request_text)
    conversation.append(Message.tool(ask, answer))

    done = await turn(conversation)

    [reply] = done.tool_calls
    assert reply.name == "reply"
    note = OFFLINE_NOTE_FR if request_text == FR_PUBLISH else OFFLINE_NOTE
    assert reply.arguments["text"] == f"{expected}\n\n{note}"


@pytest.mark.parametrize(
    ("request_text", "fact"),
    [
        ("remember that our VAT number is FR123", "our VAT number is FR123"),
        ("Please remember: invoices go out on the 1st", "invoices go out on the 1st"),
        ("retiens que notre numéro de TVA est FR123", "notre numéro de TVA est FR123"),
        ("Retiens qu'on livre le lundi", "on livre le lundi"),
        ("n'oublie pas que le salon est en mai", "le salon est en mai"),
    ],
)
async def test_request_to_remember_stores_the_fact(request_text: str, fact: str) -> None:
    done = await turn(start(request_text))

    [remember] = done.tool_calls
    assert remember.name == "remember"
    assert remember.arguments == {"fact": fact}


@pytest.mark.parametrize("request_text", ["Noted, thanks.", "Notebook prices for the team?"])
async def test_word_that_merely_starts_like_note_is_not_a_request_to_remember(
    request_text: str,
) -> None:
    done = await turn(start(request_text))

    assert [c.name for c in done.tool_calls] == ["reply"]


async def test_question_about_what_is_known_recalls_it() -> None:
    done = await turn(start("What do you know about our VAT number?"))

    assert [(c.name, c.arguments) for c in done.tool_calls] == [
        ("recall", {"query": "our VAT number"})
    ]


async def test_what_was_remembered_is_told_to_the_person_in_their_language() -> None:
    conversation = start("retiens que notre numéro de TVA est FR123")
    run_tools(conversation, await turn(conversation), remember="remembered: TVA FR123")

    done = await turn(conversation)

    [reply] = done.tool_calls
    assert reply.arguments["text"] == f"remembered: TVA FR123\n\n{OFFLINE_NOTE_FR}"


# -- the answer template in the reader's language ---------------------------------------------
#: The first line of each packaged role's answer template, in English and in French.
HEADINGS = {
    "ceo": ("**Status note: Acme**", "**Note de suivi : Acme**"),
    "cto": ("**Hosting cost note: Acme**", "**Note sur les coûts d'hébergement : Acme**"),
    "marketing": (
        "**Draft launch post for Acme (to approve before publishing)**",
        "**Brouillon de post de lancement pour Acme (à valider avant publication)**",
    ),
    "support": (
        "**Draft answer to the customer (to approve before sending)**",
        "**Brouillon de réponse au client (à valider avant envoi)**",
    ),
}
FR_PLAIN = "Et maintenant ? Que faut-il faire pour les plantes du bureau ?"
EN_PLAIN = "What should we do about the office plants?"


def acme(*languages: str) -> CompanyConfig:
    """A company on the packaged prompts, whose roles know French and English keywords."""
    return CompanyConfig.model_validate(
        {
            "company": {
                "id": "acme",
                "name": "Acme",
                "profile": {"sells": "cloud hosting", "where": ["FR"], "languages": languages},
            },
            "members": [
                {"id": "alice", "name": "Alice", "role": "owner", "identities": {"console": "a"}}
            ],
            "roles": {
                "ceo": {"description": "runs the company"},
                "cto": {"description": "hosting", "handles": ["hosting", "hébergement"]},
                "marketing": {"description": "launch posts", "handles": ["launch post"]},
                "support": {"description": "customers", "handles": ["customer", "client"]},
            },
        }
    )


def packaged(role: str, *languages: str) -> str:
    """A packaged role's system prompt, filled as the crew fills it."""
    config = acme(*(languages or ("fr", "en")))
    return fill(load_prompt(config, role), config.prompt_variables())


async def answer_of(system: str, request: str) -> str:
    """What a role that answers itself (no one to delegate to) replies to ``request``."""
    done = await OfflineModel().complete(
        [Message.system(system), Message.user(request, name="ceo")], tools("reply")
    )
    [reply] = done.tool_calls
    return str(reply.arguments["text"])


@pytest.mark.parametrize("role", PACKAGED_ROLES)
async def test_each_packaged_role_answers_a_french_request_with_its_french_template(
    role: str,
) -> None:
    english, french = HEADINGS[role]

    text = await answer_of(packaged(role), FR_PLAIN)

    assert text.startswith(french + "\n")
    assert FR_PLAIN in text
    assert english not in text and "**Request:**" not in text and "{" not in text


@pytest.mark.parametrize("role", PACKAGED_ROLES)
async def test_each_packaged_role_answers_an_english_request_with_its_english_template(
    role: str,
) -> None:
    english, french = HEADINGS[role]

    text = await answer_of(packaged(role), EN_PLAIN)

    assert text.startswith(english + "\n")
    assert EN_PLAIN in text
    assert french not in text


@pytest.mark.parametrize(
    ("languages", "heading"),
    [(("fr", "en"), "**Note de suivi : Acme**"), (("en", "fr"), "**Status note: Acme**")],
)
async def test_request_whose_words_tell_no_language_is_answered_in_the_companys(
    languages: tuple[str, ...], heading: str
) -> None:
    conversation = [Message.system(packaged("ceo", *languages)), Message.user("OK", name=ALICE)]

    done = await turn(conversation, "reply")

    text = str(done.tool_calls[0].arguments["text"])
    assert text.startswith(heading + "\n")
    assert text.endswith(OFFLINE_NOTE_FR if languages[0] == "fr" else OFFLINE_NOTE)


async def test_prompt_with_only_an_english_template_answers_a_french_request_with_it() -> None:
    done = await turn(start(FR_PLAIN, name="ceo"), "reply")

    assert done.tool_calls[0].arguments["text"] == (
        f"**Status note**\n\n**Request:** {FR_PLAIN}\n\n**Next step:** {{owner}}"
    )


async def test_french_founder_reads_the_whole_crews_offline_answer_in_french(
    redis: aioredis.Redis, keys: Keys
) -> None:
    # An English company: the French comes from the founder's words.
    crew = build_crew(acme("en", "fr"), redis, keys)
    await crew.bus.ensure_groups(crew.handlers)
    stop = asyncio.Event()
    worker = Worker(crew.bus, crew.handlers, name="w", concurrency=4, block_ms=20)
    task = asyncio.create_task(worker.run(stop))
    try:
        for n, text in enumerate(("Et maintenant ?", "Il me faut une note sur l'hébergement.")):
            await crew.bus.publish(
                Envelope(
                    kind=Kind.TASK,
                    company="acme",
                    to="ceo",
                    sender="member:alice",
                    thread=f"console:a:{n}",
                    text=text,
                    origin=Origin(channel="console", chat="a", member="alice"),
                )
            )
        entries = await wait_for_stream(redis, keys.outbox, 3, timeout=20)
    finally:
        stop.set()
        await task
        await crew.aclose()

    shown = [Envelope.decode(fields[b"env"]).text for _, fields in entries]
    status = next(t for t in shown if "Et maintenant ?" in t)
    assert status.startswith("**Note de suivi : Acme**\n")
    assert any(t.startswith("J'ai confié cela à cto ;") for t in shown)
    relayed = next(t for t in shown if t.startswith("Voici ce que l'équipe a préparé :"))
    assert "**cto**\n**Note sur les coûts d'hébergement : Acme**\n" in relayed
    assert all(t.endswith(OFFLINE_NOTE_FR) for t in shown)
    assert not any("note:" in t or "Request:" in t or "offline model" in t for t in shown)


# -- determinism --------------------------------------------------------------------------------
async def test_same_conversation_gives_the_same_output() -> None:
    first, _ = await approval_asked(EN_REQUEST)
    second, _ = await approval_asked(EN_REQUEST)

    assert first == second
    again = await OfflineModel().complete(first[:2], tools())
    assert again == await OfflineModel().complete(first[:2], tools())
    assert again.model == "offline:rules-v1"
