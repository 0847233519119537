"""WhatsApp message edits arrive as edits, as on Telegram and Slack, with a log line.

The edit bodies follow Meta's edit webhook reference (type ``edit``, ``edit.original_message_id``
and ``edit.message``): developers.facebook.com/documentation/business-messaging/whatsapp/
webhooks/reference/messages/edit. The message edited is pywa's recorded text message.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.chat import Attachment
from equipage.envelope import Kind
from equipage.keys import Keys
from equipage.testing.fake_graph import FakeGraph
from tests.test_whatsapp import ALICE, PYWA, Crew, crew, fake, first_message, inbox

__all__ = ["crew", "fake"]  # the fixtures, used by name

ORIGINAL = first_message(PYWA["text"])  # wamid.xyzxyz, "Body Text", from ALICE
STRANGER = "15550002222"


def edit_of(
    original: str, new: dict[str, Any], *, edit_id: str = "wamid.edit1", sender: str = ALICE
) -> dict[str, Any]:
    """pywa's text webhook carrying instead an edit of ``original`` that now reads ``new``."""
    payload: dict[str, Any] = copy.deepcopy(PYWA["text"])
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [
        {
            "from": sender,
            "id": edit_id,
            "timestamp": ORIGINAL["timestamp"],
            "type": "edit",
            "edit": {"original_message_id": original, "message": new},
        }
    ]
    return payload


CORRECTED = {"type": "text", "text": {"body": "Body Text, corrected"}}
# The reference's own example: the caption of an image, edited in reply to another message.
CAPTION = {
    "context": {"id": "wamid.context"},
    "type": "image",
    "image": {
        "caption": "the new caption",
        "mime_type": "image/jpeg",
        "sha256": "b1b2",
        "id": "65463453",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=65463453",
    },
}


async def test_members_edit_reaches_the_crew_as_an_edit_with_a_log_line(
    crew: Crew,
    fake: FakeGraph,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    edit = edit_of(ORIGINAL["id"], CORRECTED)

    with caplog.at_level(logging.INFO, logger="channels.whatsapp"):
        assert await crew.post(PYWA["text"]) == 200
        assert await crew.post(edit) == 200

    first, second = await inbox(redis, keys)
    assert (first.kind, first.text) == (Kind.TASK, "Body Text")
    assert (second.kind, second.text, second.sender) == (
        Kind.TASK,
        "Body Text, corrected",
        "member:alice",
    )
    [read] = crew.channel.incoming(edit)
    assert (read.edited, read.message_id, read.user) == (True, "wamid.edit1", ALICE)
    [line] = [r.getMessage() for r in caplog.records if "edited" in r.getMessage()]
    assert "wamid.xyzxyz" in line and "wamid.edit1" in line
    assert "corrected" not in line  # the person's words stay out of the logs
    assert fake.attempts == []  # nothing to answer: the crew takes the correction


async def test_the_same_edit_delivered_twice_is_processed_once(
    crew: Crew, redis: aioredis.Redis, keys: Keys
) -> None:
    edit = edit_of(ORIGINAL["id"], CORRECTED)
    for _ in range(2):
        assert await crew.post(edit) == 200

    assert [t.text for t in await inbox(redis, keys)] == ["Body Text, corrected"]


async def test_an_edited_caption_keeps_its_media_and_reads_the_new_caption(crew: Crew) -> None:
    [read] = crew.channel.incoming(edit_of("wamid.image", CAPTION))

    assert (read.edited, read.text) == (True, "the new caption")
    assert read.attachments == (
        Attachment(name="image-65463453", mime="image/jpeg", ref="65463453"),
    )


async def test_an_edited_forward_stays_someone_elses_words(crew: Crew) -> None:
    forwarded = {**CORRECTED, "context": {"forwarded": True}}

    [read] = crew.channel.incoming(edit_of(ORIGINAL["id"], forwarded))

    assert (read.edited, read.text) == (True, "")
    assert [f.text for f in read.forwarded] == ["Body Text, corrected"]


async def test_a_strangers_edit_is_refused_through_graph_like_any_message(
    crew: Crew, fake: FakeGraph, redis: aioredis.Redis, keys: Keys
) -> None:
    assert await crew.post(edit_of("wamid.theirs", CORRECTED, sender=STRANGER)) == 200

    assert await inbox(redis, keys) == []
    [refusal] = fake.sent
    assert refusal["to"] == STRANGER and "not a member" in refusal["text"]["body"]


@pytest.mark.parametrize(
    "edit",
    [
        {"original_message_id": 12345, "message": CORRECTED},
        {"original_message_id": "wamid.xyzxyz", "message": {"type": "text", "text": {"body": 1}}},
        {"original_message_id": "wamid.xyzxyz", "message": "Body Text"},
    ],
    ids=["id-number", "text-number", "message-string"],
)
async def test_an_edit_of_the_wrong_shape_is_a_bad_request(
    crew: Crew, redis: aioredis.Redis, keys: Keys, edit: dict[str, Any]
) -> None:
    payload = edit_of(ORIGINAL["id"], CORRECTED)
    first_message(payload)["edit"] = edit

    assert await crew.post(json.loads(json.dumps(payload))) == 400
    assert await inbox(redis, keys) == []
