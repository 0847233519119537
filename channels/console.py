"""The console channel: the founder types in the terminal, the crew answers there."""

from __future__ import annotations

from rich.console import Console
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

    async def send(self, message: Outgoing) -> None:
        self.console.print(render(message))


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
