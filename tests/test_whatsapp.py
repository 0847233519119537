"""The WhatsApp channel: signed webhooks into a real gateway, sends to a fake Graph API.

Webhook bodies are pywa's and vercel/chat's recorded payloads (tests/fixtures/whatsapp).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette

from channels.gateway import Gateway
from channels.whatsapp import WhatsAppChannel, WindowClosed
from channels.whatsapp_shape import SKEW
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Attachment, Downloader, Forwarded, Outgoing, PlatformChannel
from equipage.config import CompanyConfig
from equipage.envelope import Envelope, Kind, Origin, Question
from equipage.errors import RuntimeFailure
from equipage.keys import SEEN_FOR, Keys
from equipage.testing import stream_entries
from equipage.testing.fake_graph import FakeGraph, sign
from tests.conftest import FIXTURES
from tests.test_documents import FRENCH, pdf, word

TOKEN = "graph-token"
SECRET = "app-secret"
VERIFY = "verify-me"
PYWA_NUMBER = "1122334455667"  # metadata.phone_number_id in pywa's payloads
VERCEL_NUMBER = "100000000000001"  # ...and in vercel/chat's
ALICE = "972987654321"  # pywa's wa_id: alice, the owner
STRANGER = "15550002222"  # vercel/chat's wa_id: nobody in the crew
CONFIG = CompanyConfig.model_validate(
    {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
        "members": [
            {"id": "alice", "name": "Alice", "role": "owner", "identities": {"whatsapp": ALICE}}
        ],
        "roles": {"ceo": {"description": "runs the company"}},
    }
)
QUESTION = Approval(
    id="3f9a1c2e",
    role="ceo",
    thread=f"whatsapp:{ALICE}",
    text="Shall I publish the launch post?",
    origin=Origin(channel="whatsapp", chat=ALICE, member="alice"),
)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "whatsapp" / name).read_text())
    return data


PYWA = fixture("pywa_updates_message.json")
# pywa's document message was forwarded (context.forwarded): its caption is not ours.
FORWARDED_CAPTION = Forwarded(text="caption", kind="caption", platform="WhatsApp")
STATUSES = fixture("pywa_updates_message_status.json")
BUTTONS = fixture("pywa_updates_callback_button.json")
VERCEL = fixture("vercel-chat_replay_dm_whatsapp.json")


def first_message(payload: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


def pressed(button_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(BUTTONS["button"])
    first_message(payload)["interactive"]["button_reply"]["id"] = button_id
    return payload


def dated(payload: dict[str, Any], when: float) -> dict[str, Any]:
    """``payload`` with each message's timestamp set to ``when``, as Meta sends it then."""
    payload = copy.deepcopy(payload)
    for entry in payload.get("entry", []):
        for change in entry.get("changes", []):
            for message in change.get("value", {}).get("messages", []):
                message["timestamp"] = str(int(when))
    return payload


class Crew:
    """The channel's webhook routes served in-process, with the gateway behind them."""

    def __init__(self, channel: WhatsAppChannel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self.client = client

    async def post(
        self,
        payload: dict[str, Any] | bytes,
        signature: str | bytes | None = "",
        *,
        as_recorded: bool = False,
    ) -> int:
        """POST signed; the recorded messages are years old, so dated now unless ``as_recorded``."""
        if isinstance(payload, dict) and not as_recorded:
            payload = dated(payload, time.time())
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        # Bytes throughout: a test sends a signature that is not ASCII.
        headers = {b"content-type": b"application/json"}
        if signature is not None:
            given = signature or sign(body, SECRET)
            headers[b"x-hub-signature-256"] = given if isinstance(given, bytes) else given.encode()
        response = await self.client.post("/whatsapp/webhook", content=body, headers=headers)
        return response.status_code


@asynccontextmanager
async def serving(
    fake: FakeGraph,
    bus: Bus,
    number: str = PYWA_NUMBER,
    secret: str = SECRET,
    clock: Callable[[], float] = time.time,
    raise_app_exceptions: bool = True,
) -> AsyncIterator[Crew]:
    channel = WhatsAppChannel(
        TOKEN,
        phone_number_id=number,
        app_secret=secret,
        verify_token=VERIFY,
        base_url=fake.base_url,
        clock=clock,
    )
    gateway = Gateway(CONFIG, bus, channels={"whatsapp": channel})
    app = Starlette(routes=channel.routes(gateway))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Crew(channel, client)
    finally:
        await gateway.aclose()
        await channel.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(token=TOKEN) as server:
        yield server


@pytest.fixture
async def crew(fake: FakeGraph, bus: Bus) -> AsyncIterator[Crew]:
    async with serving(fake, bus) as served:
        yield served


async def inbox(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    return [Envelope.decode(f[b"env"]) for _, f in await stream_entries(redis, keys.inbox("ceo"))]


async def window_open(crew: Crew, user: str = ALICE, age: float = 0.0) -> None:
    await crew.channel.windows.set(user, time.time() - age)


# -- verification and signatures ------------------------------------------------------------
async def test_verification_echoes_the_challenge_with_the_right_token(crew: Crew) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}

    response = await crew.client.get("/whatsapp/webhook", params=query)

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(("mode", "token"), [("subscribe", "guess"), ("unsubscribe", VERIFY)])
async def test_verification_with_a_wrong_token_or_mode_is_forbidden(
    crew: Crew, mode: str, token: str
) -> None:
    query = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1158201444"}

    response = await crew.client.get("/whatsapp/webhook", params=query)

    assert response.status_code == 403
    assert "1158201444" not in response.text


async def test_signature_check_agrees_with_the_published_test_vector(
    fake: FakeGraph, bus: Bus
) -> None:
    # GitHub Docs, "Validating webhook deliveries", section "Testing the webhook payload
    # validation" (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
    # the same sha256=HMAC-SHA256(secret, raw body) scheme as Meta's, which publishes none.
    secret, payload = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(payload, secret) == expected

    async with serving(fake, bus, secret=secret) as crew:
        # Signed right, so it passes the check and fails only as JSON.
        assert await crew.post(payload, signature=expected) == 400
        assert await crew.post(payload, signature=expected.replace("757", "758")) == 401


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "sha256=" + "0" * 64,
        sign(b"another body", SECRET),
        "sha1=abc",
        "sha256=é".encode("latin-1"),
    ],
)
async def test_missing_or_wrong_signature_is_refused_and_nothing_reaches_the_inbox(
    crew: Crew,
    fake: FakeGraph,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
    signature: str | bytes | None,
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.whatsapp"):
        assert await crew.post(PYWA["text"], signature=signature) == 401

    assert "X-Hub-Signature-256 refused" in caplog.text
    assert SECRET not in caplog.text
    assert await inbox(redis, keys) == []
    assert fake.attempts == []


async def test_malformed_or_oversized_body_is_a_bad_request(
    crew: Crew, redis: aioredis.Redis, keys: Keys
) -> None:
    assert await crew.post(b'{"object": "whatsapp_business_account", ') == 400
    assert await crew.post(b"[1, 2]") == 400
    huge = json.dumps({**PYWA["text"], "padding": "x" * (1024 * 1024)}).encode()
    assert await crew.post(huge) == 400

    assert await inbox(redis, keys) == []


def reshaped(path: str, value: object) -> bytes:
    """pywa's text message with the field at ``path`` (dotted; digits index lists) replaced."""
    payload = copy.deepcopy(PYWA["text"])
    *parents, last = path.split(".")
    found: Any = payload
    for part in parents:
        found = found[int(part)] if part.isdigit() else found[part]
    found[last] = value
    return json.dumps(payload).encode()


MESSAGE = "entry.0.changes.0.value.messages.0"


@pytest.mark.parametrize(
    "body",
    [
        reshaped("entry", {"id": "1"}),
        reshaped("entry.0.changes", "messages"),
        reshaped("entry.0.changes.0.value.messages", {"from": ALICE}),
        reshaped(f"{MESSAGE}.text", {"body": 12345}),
        reshaped(f"{MESSAGE}.from", 972987654321),
        reshaped(f"{MESSAGE}.timestamp", ["1697043223"]),
        reshaped(f"{MESSAGE}.type", None),
        b"[" * 5000 + b"]" * 5000,
        b'{"object": "whatsapp_business_account", "entry": "caf\xe9"}',
        b"",
        b"not json at all",
    ],
    ids=[
        "entry-object",
        "changes-string",
        "messages-object",
        "text-number",
        "from-number",
        "timestamp-list",
        "type-null",
        "nested-5000",
        "invalid-utf8",
        "empty",
        "not-json",
    ],
)
async def test_signed_body_of_the_wrong_shape_is_a_bad_request_with_one_log_line(
    crew: Crew,
    fake: FakeGraph,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert await crew.post(body) == 400

    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert line.getMessage().startswith("whatsapp webhook refused: ")
    assert "Body Text" not in line.getMessage() and SECRET not in line.getMessage()
    assert await inbox(redis, keys) == []
    assert fake.attempts == []


async def test_failure_on_our_side_is_a_server_error_so_meta_delivers_again(
    fake: FakeGraph, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    down = aioredis.Redis(port=1, retry=Retry(NoBackoff(), 0))  # nothing listens: Redis is down
    try:
        async with serving(fake, Bus(down, keys), raise_app_exceptions=False) as crew:
            assert await crew.post(PYWA["text"]) == 500
    finally:
        await down.aclose()

    assert "webhook refused" not in caplog.text


# -- inbound through the gateway -------------------------------------------------------------
async def test_members_text_becomes_a_task_on_the_entry_roles_inbox(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    assert await crew.post(PYWA["text"]) == 200

    [task] = await inbox(redis, keys)
    assert (task.kind, task.to, task.text) == (Kind.TASK, "ceo", "Body Text")
    assert task.sender == "member:alice"
    assert task.origin == Origin(channel="whatsapp", chat=ALICE, member="alice")
    assert fake.sent == []
    assert await crew.channel.windows.get(ALICE) == pytest.approx(time.time(), abs=5)


async def test_unknown_number_is_refused_through_graph_and_nothing_is_published(
    fake: FakeGraph, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    async with serving(fake, bus, number=VERCEL_NUMBER) as crew:
        assert await crew.post(VERCEL["firstMessage"]) == 200

    assert await inbox(redis, keys) == []
    [refusal] = fake.requests
    assert refusal.phone_number_id == VERCEL_NUMBER
    assert refusal.body["to"] == STRANGER
    assert "not a member" in refusal.body["text"]["body"]


async def test_duplicate_delivery_of_the_same_message_is_processed_once(
    fake: FakeGraph, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    async with serving(fake, bus, number=VERCEL_NUMBER) as crew:
        for payload in (VERCEL["firstMessage"], VERCEL["firstMessage"], VERCEL["secondMessage"]):
            assert await crew.post(payload) == 200

    # One refusal per distinct message id (wamid.FAKE_MSG_ID_001, then _002).
    assert len(fake.sent) == 2


RECORDED = int(first_message(PYWA["text"])["timestamp"])  # 2023-10-11: years old
NOW = RECORDED + 1000 * 86400.0


@pytest.mark.parametrize(
    ("age", "delivered"),
    [
        (NOW - RECORDED, False),  # the recorded request, replayed years later
        (SEEN_FOR - SKEW + 60, False),  # its seen marker may have expired
        (-SKEW - 60, False),  # dated ahead of any clock skew
        (SEEN_FOR - SKEW - 60, True),  # its seen marker is still alive
        (-3600, True),  # our clock an hour behind Meta's
    ],
    ids=["recorded", "marker-may-be-gone", "far-ahead", "marker-alive", "slightly-ahead"],
)
async def test_message_dated_older_than_the_seen_marker_lives_is_dropped_as_a_replay(
    fake: FakeGraph,
    bus: Bus,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
    age: float,
    delivered: bool,
) -> None:
    async with serving(fake, bus, clock=lambda: NOW) as crew:
        with caplog.at_level(logging.WARNING, logger="channels.whatsapp"):
            # Authentic, so a 200 either way: an error would only make Meta send it again.
            assert await crew.post(dated(PYWA["text"], NOW - age), as_recorded=True) == 200

    assert [t.text for t in await inbox(redis, keys)] == (["Body Text"] if delivered else [])
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == (0 if delivered else 1)
    assert all("wamid.xyzxyz" in line and "Body Text" not in line for line in dropped)
    assert await crew.channel.windows.get(ALICE) == (NOW if delivered else None)


async def test_recorded_message_replayed_later_is_dropped_and_with_a_fresh_date_is_delivered(
    fake: FakeGraph, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    now = time.time()
    async with serving(fake, bus, clock=lambda: now) as crew:
        assert await crew.post(PYWA["text"], as_recorded=True) == 200
        assert await inbox(redis, keys) == []

        assert await crew.post(dated(PYWA["text"], now - 5)) == 200

    assert [t.text for t in await inbox(redis, keys)] == ["Body Text"]


async def test_approve_button_reaches_the_gateway_as_the_approve_command(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    await Approvals(redis, keys).open(QUESTION, f"ceo:{QUESTION.thread}")

    assert await crew.post(pressed(f"approve:{QUESTION.id}")) == 200

    [resume] = await inbox(redis, keys)
    assert resume.kind is Kind.ANSWER
    assert resume.answer is not None
    assert (resume.answer.question_id, resume.answer.approved) == (QUESTION.id, True)
    [confirmation] = fake.sent
    assert confirmation["text"]["body"] == f"Approved {QUESTION.id}; the crew goes on."


async def test_statuses_are_ignored(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    for case in ("sent", "delivered", "read", "failed"):
        assert await crew.post(STATUSES[case]) == 200
    assert await crew.post(VERCEL["statusUpdate"]) == 200

    assert await inbox(redis, keys) == []
    assert fake.attempts == []
    assert await crew.channel.windows.get(ALICE) is None


# -- translation -------------------------------------------------------------------------------
async def test_buttons_documents_and_images_translate_and_other_types_are_dropped(
    crew: Crew,
) -> None:
    channel = crew.channel

    [reject] = channel.incoming(pressed("reject:3f9a1c2e"))
    [quick] = channel.incoming(BUTTONS["quick_reply"])
    [document] = channel.incoming(PYWA["document"])
    [image] = channel.incoming(PYWA["image"])

    assert (reject.text, reject.user, reject.chat) == ("/reject 3f9a1c2e", ALICE, ALICE)
    assert (quick.text, quick.message_id) == ("title", "wamid.xsidjw")
    assert (document.text, document.forwarded) == ("", (FORWARDED_CAPTION,))
    assert document.attachments == (
        Attachment(name="filename.pdf", mime="application/pdf", ref="1234567890987654321"),
    )
    assert image.attachments == (
        Attachment(name="image-65463453", mime="image/jpeg", ref="65463453"),
    )
    for case in (
        "reaction",
        "current_location",
        "contacts",
        "unsupported",
        "interactive_message_with_err",
    ):
        assert channel.incoming(PYWA[case]) == []
    # Messages to another phone number of the same Meta app are not ours to answer.
    assert channel.incoming(VERCEL["firstMessage"]) == []
    assert channel.incoming({"object": "page", "entry": []}) == []


async def test_channel_is_a_webhook_platform_channel_whose_run_returns_at_once(
    crew: Crew, bus: Bus
) -> None:
    assert isinstance(crew.channel, PlatformChannel)
    gateway = Gateway(CONFIG, bus)
    await asyncio.wait_for(crew.channel.run(gateway, asyncio.Event()), timeout=1)


# -- outbound ---------------------------------------------------------------------------------
def to_alice(text: str, question: Question | None = None) -> Outgoing:
    return Outgoing(channel="whatsapp", chat=ALICE, text=text, sender="ceo", question=question)


async def test_question_inside_the_window_is_sent_as_reply_buttons(
    crew: Crew, fake: FakeGraph
) -> None:
    await window_open(crew, age=23 * 3600)

    await crew.channel.send(to_alice("Shall I publish it?", Question(id="3f9a1c2e", text="")))

    [request] = fake.requests
    assert request.phone_number_id == PYWA_NUMBER
    assert request.body["to"] == ALICE
    assert request.body["interactive"] == {
        "type": "button",
        "body": {"text": "Shall I publish it?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "approve:3f9a1c2e", "title": "Approve"}},
                {"type": "reply", "reply": {"id": "reject:3f9a1c2e", "title": "Reject"}},
            ]
        },
    }


async def test_long_question_is_sent_as_text_then_buttons_and_long_text_is_split(
    crew: Crew, fake: FakeGraph
) -> None:
    await window_open(crew)
    post = "A launch post.\n" * 300  # 4500 characters

    await crew.channel.send(to_alice(post, Question(id="3f9a1c2e", text="")))

    *texts, buttons = fake.sent
    assert [t["type"] for t in texts] == ["text", "text"]
    assert "".join(t["text"]["body"] for t in texts) == post
    assert all(len(t["text"]["body"]) <= 4096 for t in texts)
    assert buttons["type"] == "interactive"
    assert len(buttons["interactive"]["body"]["text"]) <= 1024
    assert "3f9a1c2e" in buttons["interactive"]["body"]["text"]


async def test_blank_text_sends_nothing_and_a_blank_question_still_gets_its_buttons(
    crew: Crew, fake: FakeGraph
) -> None:
    await window_open(crew)

    await crew.channel.send(to_alice("  "))
    await crew.channel.send(to_alice("", Question(id="3f9a1c2e", text="")))

    [buttons] = fake.sent
    assert buttons["interactive"]["body"]["text"] == "Approve or reject question 3f9a1c2e?"


@pytest.mark.parametrize("age", [24 * 3600 + 60, None])
async def test_outside_the_window_send_says_how_to_reopen_it_and_sends_nothing(
    crew: Crew, fake: FakeGraph, age: float | None
) -> None:
    if age is not None:
        await window_open(crew, age=age)

    with pytest.raises(WindowClosed) as refused:
        await crew.channel.send(to_alice("Here is the weekly report."))

    assert "send any message to the crew on WhatsApp to reopen the 24-hour window" in str(
        refused.value
    )
    assert fake.attempts == []


async def test_rate_limit_is_waited_out_as_retry_after_says_then_the_message_goes(
    crew: Crew, fake: FakeGraph
) -> None:
    await window_open(crew)
    fake.fail_next(429, retry_after=1)

    await crew.channel.send(to_alice("Hello"))

    [refused_at, accepted_at] = fake.attempts
    assert accepted_at - refused_at >= 1.0
    assert [m["text"]["body"] for m in fake.sent] == ["Hello"]


async def test_graph_that_keeps_failing_raises_after_bounded_retries(
    crew: Crew, fake: FakeGraph
) -> None:
    await window_open(crew)
    for _ in range(5):
        fake.fail_next(503, retry_after=0)

    with pytest.raises(RuntimeFailure, match="answered 503"):
        await crew.channel.send(to_alice("Hello"))

    assert len(fake.attempts) == 3
    assert fake.sent == []


async def test_wrong_access_token_fails_at_once_without_leaking_it(
    fake: FakeGraph, bus: Bus
) -> None:
    channel = WhatsAppChannel(
        "wrong-token",
        phone_number_id=PYWA_NUMBER,
        app_secret=SECRET,
        verify_token=VERIFY,
        base_url=fake.base_url,
    )
    await channel.windows.set(ALICE, time.time())
    try:
        with pytest.raises(RuntimeFailure, match="answered 401") as failed:
            await channel.send(to_alice("Hello"))
    finally:
        await channel.aclose()

    assert "wrong-token" not in str(failed.value)
    assert len(fake.attempts) == 1


# -- media people send ------------------------------------------------------------------------
MEDIA_ID = "1234567890987654321"  # document.id in pywa's document message


def document_from(user: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(PYWA["document"])
    first_message(payload)["from"] = user
    return payload


async def test_founders_document_is_fetched_from_graph_and_its_text_reaches_the_ceo(
    crew: Crew,
    fake: FakeGraph,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert isinstance(crew.channel, Downloader)
    # pywa's message says filename.pdf and application/pdf; the bytes are a Word file.
    signature = fake.add_media(MEDIA_ID, word(FRENCH), "application/pdf")

    assert await crew.post(PYWA["document"]) == 200

    [task] = await inbox(redis, keys)
    assert (task.sender, task.text, task.forwarded) == ("member:alice", "", (FORWARDED_CAPTION,))
    [document] = task.attachments
    assert (document.name, document.ref, document.text) == ("filename.pdf", MEDIA_ID, FRENCH)
    assert fake.media_requests == [MEDIA_ID, f"download:{MEDIA_ID}"]
    assert fake.sent == []
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("uvicorn"))
    assert f"/lookaside/{MEDIA_ID}?<signed>" in ours  # httpx's request log, URL hidden
    assert signature not in ours
    assert TOKEN not in ours


async def test_oversized_media_is_refused_before_download_and_the_founder_told(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    fake.add_media(MEDIA_ID, pdf(FRENCH), "application/pdf", size=30 * 1024 * 1024)

    assert await crew.post(PYWA["document"]) == 200

    assert fake.media_requests == [MEDIA_ID]  # asked what it is, never fetched
    [told] = fake.sent
    assert told["to"] == ALICE
    assert told["text"]["body"].startswith(
        "I could not read filename.pdf: it is 30 MB. I read files of at most 20 MB."
    )
    [task] = await inbox(redis, keys)
    assert task.forwarded == (FORWARDED_CAPTION,)
    assert task.attachments[0].text is None


async def test_photo_is_fetched_then_refused_as_an_image_and_the_founder_told(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    photo_id = first_message(PYWA["image"])["image"]["id"]
    fake.add_media(photo_id, b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(64), "image/jpeg")

    assert await crew.post(PYWA["image"]) == 200

    [told] = fake.sent
    assert told["text"]["body"].startswith(f"I could not read image-{photo_id}: it is an image")
    [task] = await inbox(redis, keys)
    assert task.attachments[0].error is not None


async def test_media_graph_no_longer_has_still_reaches_the_crew_as_a_name(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    assert await crew.post(PYWA["document"]) == 200  # nothing added: Graph answers 400

    [told] = fake.sent
    assert (
        "I could not read filename.pdf: downloading it from the platform failed"
        in (told["text"]["body"])
    )
    [task] = await inbox(redis, keys)
    assert task.attachments[0].name == "filename.pdf"


async def test_strangers_document_is_never_downloaded(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    fake.add_media(MEDIA_ID, pdf(FRENCH), "application/pdf")

    assert await crew.post(document_from(STRANGER)) == 200

    assert fake.media_requests == []
    assert "not a member" in fake.sent[0]["text"]["body"]
    assert await inbox(redis, keys) == []
