"""The console channel: the founder types in the terminal, the crew answers there.

A reply the crew streams shows live while it is written (``draft``, ``channels.streaming``):
a preview that grows in place and gives way to the reply's panel once it is whole.
"""

from __future__ import annotations

import itertools

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from channels.wording import words_for
from equipage.chat import Outgoing

__all__ = ["ConsoleChannel"]


class ConsoleChannel:
    """Prints the crew's messages; questions show how to answer them."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._live: tuple[str, Live] | None = None  # the draft shown now, one at a time
        self._refs = itertools.count(1)

    async def send(self, message: Outgoing) -> None:
        if self._live is not None:  # a draft left unfinished (its turn asked, or failed)
            self._live[1].stop()
            self._live = None
        self.console.print(render(message))

    async def draft(self, message: Outgoing, ref: str | None) -> str:
        """Show a reply while it is written, in a preview redrawn in place."""
        ref = ref or f"console-{next(self._refs)}"
        preview = Panel(Text(message.text + " …"), title=f"[dim]{message.sender or 'crew'}[/]",
                        title_align="left", border_style="dim")  # fmt: skip
        if self._live is None:
            live = Live(preview, console=self.console, auto_refresh=False, transient=True)
            live.start()
            self._live = (ref, live)
        elif self._live[0] == ref:
            self._live[1].update(preview, refresh=True)
        return ref  # another reply's preview is up: this one shows once whole

    async def settle(self, message: Outgoing, ref: str) -> None:
        """The reply is whole: its preview gives way to its panel."""
        await self.send(message)


def render(message: Outgoing) -> Panel:
    """A message as a panel titled by its sender; a question says how to answer it.

    The hint is in the person's language when the gateway worded the message for them.
    A call waiting for approval is printed as written, not read as Markdown, which would
    hide a comment or a link's address and join its lines.
    """
    title = message.sender or "crew"
    style = "yellow" if message.question else "cyan"
    question = message.question
    body: Markdown | Text
    if question is not None and question.topic == "tool":
        say = words_for(message)
        body = Text(f"{message.text}\n\n{say.answer} {say.hint(question.id)}")
    elif question is not None:
        say = words_for(message)
        body = Markdown(f"{message.text}\n\n**{say.answer}** {say.hint(question.id, code='`{}`')}")
    else:
        body = Markdown(message.text)
    return Panel(body, title=f"[bold]{title}[/]", title_align="left", border_style=style)
