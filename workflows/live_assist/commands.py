"""A live call's chat commands: ``/suggest [focus]`` and ``/endcall`` (``/end``, as the
call's welcome says), sent to the member's running session (``equipage.live``)."""

from __future__ import annotations

from equipage import live
from equipage.commands import Command, Invocation

__all__ = ["COMMANDS"]


async def suggest(call: Invocation) -> str:
    """Ask the member's live session for a suggestion now, on the focus given if any."""
    session = await live.active(call.redis, call.keys, call.member)
    if session is None:
        return call.say("no_live")
    await live.ask(call.redis, call.keys, session, call.rest, producer=call.producer)
    focus = call.rest.strip()
    about = call.say("asked_about", focus=focus[:80]) if focus else ""
    return call.say("asked_live", session=session, about=about)


async def end_call(call: Invocation) -> str:
    """End the member's live session."""
    session = await live.active(call.redis, call.keys, call.member)
    if session is None:
        return call.say("no_live")
    await live.end(call.redis, call.keys, session, producer=call.producer)
    return call.say("ending_live", session=session)


COMMANDS = (Command(("/suggest",), suggest), Command(("/endcall", "/end"), end_call))
