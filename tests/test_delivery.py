"""The delivery helpers every adapter calls: text cut to a limit, retries on "later", marks."""

from __future__ import annotations

import logging

import pytest

from channels.answered import Answered, mark
from channels.delivery import Break, Later, RetryPolicy, fit, retried, split
from equipage.chat import Outgoing


class Refused(Exception):
    """A platform's error; ``wait`` is what it asks for (None: it names none)."""

    def __init__(self, wait: float | None = None) -> None:
        super().__init__(f"refused, wait {wait}")
        self.wait = wait


class Fatal(Exception):
    """An error no wait fixes."""


def later(err: Exception) -> Later | None:
    return Later(err.wait) if isinstance(err, Refused) else None


class Platform:
    """Raises the scripted errors in turn, then answers "sent"; records every attempt."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts: list[int] = []

    async def __call__(self, attempt: int) -> str:
        self.attempts.append(attempt)
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


class Clock:
    """Stands in for asyncio.sleep: records the waits instead of waiting them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


# -- splitting ---------------------------------------------------------------------------------
LINES = (Break(("\n",), 0),)


def test_text_within_the_limit_is_one_piece() -> None:
    assert split("hello world", 11, LINES) == ["hello world"]


def test_a_piece_ends_after_the_last_break_that_fits() -> None:
    assert split("one\ntwo\nthree", 10, LINES) == ["one\ntwo\n", "three"]


def test_earlier_breaks_are_preferred_to_later_ones_that_cut_less() -> None:
    breaks = (Break(("\n\n",), 0), Break((" ",), 0))

    assert split("aa\n\nbb cc dd", 10, breaks) == ["aa\n\n", "bb cc dd"]


def test_marks_of_one_break_compete_and_the_last_wins() -> None:
    breaks = (Break(("\n", " "), 0),)

    assert split("aa\nbb cc dd", 8, breaks) == ["aa\nbb ", "cc dd"]


def test_a_break_before_its_floor_is_ignored_and_the_piece_fills_the_limit() -> None:
    assert split("a bcdefghijk", 8, (Break((" ",), 2),)) == ["a bcdefg", "hijk"]
    assert split("ab cdefgh", 6, (Break((" ",), 2),)) == ["ab ", "cdefgh"]  # at the floor


def test_fallback_says_where_to_cut_when_no_break_fits() -> None:
    def before_x(head: str) -> int:
        return head.rfind("x")

    assert split("abcxdefgh", 6, LINES, fallback=before_x) == ["abc", "xdefgh"]


def test_size_counts_characters_as_the_platform_does() -> None:
    def utf16(char: str) -> int:
        return 2 if ord(char) > 0xFFFF else 1

    pieces = split("😆" * 5, 4, LINES, size=utf16)

    assert pieces == ["😆😆", "😆😆", "😆"]


def test_blank_pieces_are_dropped() -> None:
    text = "first line\n" + " " * 20 + "\nlast"

    pieces = split(text, 12, LINES)

    assert pieces == ["first line\n", "last"]
    assert split("  \n  ", 2, LINES) == []


def test_a_character_larger_than_the_limit_goes_alone_rather_than_never() -> None:
    assert split("😆a", 1, LINES, size=lambda c: 2 if c == "😆" else 1) == ["😆", "a"]


def test_fit_counts_what_fits_in_the_limit() -> None:
    assert fit("abcdef", 4) == 4
    assert fit("ab", 4) == 2
    assert fit("a😆b", 2, lambda c: 2 if c == "😆" else 1) == 1


# -- retrying ----------------------------------------------------------------------------------
async def test_a_call_that_goes_through_is_made_once_without_waiting() -> None:
    platform, clock = Platform(), Clock()

    assert await retried(platform, later, sleep=clock.sleep) == "sent"

    assert platform.attempts == [1] and clock.waits == []


async def test_the_wait_the_platform_asks_for_is_waited_then_the_call_goes() -> None:
    platform, clock = Platform(Refused(2.0)), Clock()
    heard: list[float] = []

    sent = await retried(platform, later, sleep=clock.sleep, waiting=heard.append)

    assert sent == "sent"
    assert platform.attempts == [1, 2]
    assert clock.waits == [2.0] and heard == [2.0]


async def test_without_a_wait_named_the_policy_backs_off_doubling() -> None:
    platform, clock = Platform(Refused(), Refused()), Clock()

    await retried(platform, later, policy=RetryPolicy(tries=3, backoff=0.5), sleep=clock.sleep)

    assert clock.waits == [0.5, 1.0]


async def test_the_last_refusal_is_raised_once_the_tries_are_spent() -> None:
    last = Refused(0.0)
    platform, clock = Platform(Refused(0.0), Refused(0.0), last, Refused(0.0)), Clock()

    with pytest.raises(Refused) as raised:
        await retried(platform, later, sleep=clock.sleep)

    assert raised.value is last
    assert platform.attempts == [1, 2, 3]
    assert clock.waits == [0.0, 0.0]


async def test_a_wait_longer_than_the_policy_allows_is_raised_without_waiting() -> None:
    platform, clock = Platform(Refused(31.0)), Clock()

    with pytest.raises(Refused):
        await retried(platform, later, policy=RetryPolicy(max_wait=30.0), sleep=clock.sleep)

    assert platform.attempts == [1] and clock.waits == []


async def test_an_error_that_is_no_rate_limit_is_raised_at_once() -> None:
    platform, clock = Platform(Fatal("no such chat")), Clock()

    with pytest.raises(Fatal, match="no such chat"):
        await retried(platform, later, sleep=clock.sleep)

    assert platform.attempts == [1] and clock.waits == []


LOG = logging.getLogger("tests.delivery")


# -- marking an answered question --------------------------------------------------------------
def approved(question_id: str = "q-1") -> Answered:
    text = f"Approved {question_id}"
    return Answered(
        channel="x", chat="c", text=text, question_id=question_id, approved=True, by="Camille"
    )


class Editor:
    """A platform's edit: records the lines it put on questions, or fails as told."""

    def __init__(self, error: Exception | None = None) -> None:
        self.lines: list[str] = []
        self.error = error

    async def __call__(self, answer: Answered) -> None:
        if self.error is not None:
            raise self.error
        self.lines.append(answer.line)


async def test_the_accepted_answer_to_the_pressed_question_marks_it() -> None:
    edit = Editor()

    await mark(approved("Q-1"), "q-1 ", edit, channel="x", log=LOG)

    assert edit.lines == ["✓ Approved by Camille"]


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        (approved("q-2"), "q-1"),  # the answer to another question
        (approved("q-1"), None),  # a typed command, no button pressed
        (Outgoing(channel="x", chat="c", text="q-1 is no longer open"), "q-1"),  # refused
    ],
)
async def test_anything_but_the_accepted_answer_leaves_the_question_as_it_is(
    answer: Outgoing, question: str | None
) -> None:
    edit = Editor()

    await mark(answer, question, edit, channel="x", log=LOG)

    assert edit.lines == []


async def test_an_edit_the_platform_refuses_is_logged_with_its_reason_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    edit = Editor(Refused())

    await mark(
        approved(),
        "q-1",
        edit,
        channel="somechat",
        log=logging.getLogger("channels.somechat"),
        refused=Refused,
        reason=lambda err: "message_not_found",
    )

    assert "somechat question q-1 not marked answered: message_not_found" in caplog.text


async def test_an_error_the_adapter_does_not_expect_from_an_edit_is_raised() -> None:
    edit = Editor(Fatal("bug"))

    with pytest.raises(Fatal):
        await mark(approved(), "q-1", edit, channel="x", log=LOG, refused=Refused)
