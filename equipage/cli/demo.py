"""``equipage demo``: a founder's conversation with a crew built from nothing.

Everything it prints around the conversation (the headings, the table of what crossed the
bus, the summary, the console's address) is in the founder's language, ``--lang``.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from equipage.chat import Outgoing
from equipage.cli.common import err, fail, out, reported, show
from equipage.config import Settings
from equipage.language import pick
from equipage.llm.providers import default_help, default_spec

if TYPE_CHECKING:
    from equipage.demo import DemoResult


@dataclass(frozen=True)
class _Words:
    """What the demo prints around the conversation, in one language."""

    start: str
    founder: str
    note: str
    crossed: str
    columns: tuple[str, str, str, str, str]
    kinds: dict[str, str]  # an envelope's kind as the table shows it; the others as they are
    verdicts: dict[str, str]  # the first word of an answer's detail
    failed: str
    complete: str
    kept: str
    console: str
    address: str
    link: str
    not_a_terminal: str
    open_it: str


_EN = _Words(
    start="Equipage demo: an embedded Redis in a temporary folder, model {model}",
    founder="founder",
    note="note:",
    crossed="What crossed the bus",
    columns=("#", "kind", "from", "to", "text"),
    kinds={},
    verdicts={},
    failed="demo failed:",
    complete="[green]Demo complete:[/] {n} envelopes crossed the bus. Act one: the CEO "
    "delegated to two roles, both answered, the founder approved, the CEO confirmed. Act "
    "two: marketing ran the tender watch on real notices, the founder approved the export "
    "({files}), the CEO returned the ranked list.",
    kept="Files exported, kept in {folder}:",
    console="The web console",
    address="console: {address}",
    link="login link (works once, 15 min): {link}",
    not_a_terminal="[dim]Not in a terminal: the console closes with the demo now. Run 'make "
    "demo' in a terminal to keep it open, or 'equipage up' then 'equipage web login'.[/]",
    open_it="[bold]Open the link; Ctrl-C ends the demo and removes its folder.[/]",
)

_FR = _Words(
    start="Démo d'Equipage : un Redis embarqué dans un dossier temporaire, modèle {model}",
    founder="fondateur",
    note="remarque :",
    crossed="Ce qui est passé par le bus",
    columns=("n°", "type", "de", "à", "texte"),
    kinds={
        "task": "tâche",
        "result": "résultat",
        "answer": "réponse",
        "workflow": "workflow",
        "reply": "message",
        "question": "question",
    },
    verdicts={"approved": "approuvé", "rejected": "refusé"},
    failed="échec de la démo :",
    complete="[green]Démo terminée :[/] {n} enveloppes sont passées par le bus. Acte un : le "
    "CEO a délégué à deux rôles, tous deux ont répondu, le fondateur a approuvé, le CEO a "
    "confirmé. Acte deux : le marketing a lancé la veille des appels d'offres sur de vrais "
    "avis, le fondateur a approuvé l'export ({files}), le CEO a renvoyé la liste classée.",
    kept="Fichiers exportés, gardés dans {folder} :",
    console="La console web",
    address="console : {address}",
    link="lien de connexion (valable une fois, 15 min) : {link}",
    not_a_terminal="[dim]Pas de terminal : la console se ferme maintenant avec la démo. "
    "Lancez « make demo » dans un terminal pour la garder ouverte, ou « equipage up » puis "
    "« equipage web login ».[/]",
    open_it="[bold]Ouvrez le lien ; Ctrl-C termine la démo et supprime son dossier.[/]",
)


def demo(
    lang: Annotated[str, typer.Option(help="language of the founder: en or fr")] = "en",
    model: Annotated[
        str | None,
        typer.Option(help=f"model of every role [default: {default_help()}]"),
    ] = None,
    keep: Annotated[
        Path,
        typer.Option(help="folder the files the crew exported are copied to, kept after the demo"),
    ] = Path("equipage-demo"),
) -> None:
    """Play a founder's conversation with the crew, from nothing; then open its web console."""
    from equipage.demo import REQUESTS, run_demo

    if lang not in REQUESTS:
        fail(f"--lang must be one of {', '.join(REQUESTS)}", 2)
    say = pick(lang, _EN, _FR)

    def narrate(who: str, message: Outgoing) -> None:
        if who == "founder":
            out.print(f"\n[bold magenta]{say.founder}[/] > {message.text}")
        else:
            show(message)

    with reported():
        settings = Settings.from_env()
        chosen = model or default_spec(settings.provider_options())
        out.rule(say.start.format(model=chosen))
        result = asyncio.run(
            run_demo(
                narrate,
                lang=lang,
                model=chosen,
                settings=settings,
                hold=functools.partial(_hold, say=say),
                keep=keep,
            )
        )
    if not result.ok:
        raise typer.Exit(1)


async def _hold(result: DemoResult, address: str, link: str, *, say: _Words) -> None:
    """Say what the demo saw and where the files it kept are, then the console's address
    and login link; in a terminal, keep them working until Ctrl-C (the demo's folder, and
    its crew, go at the end; the files kept stay)."""
    _summary(result, say)
    _kept(result, say)
    out.rule(say.console)
    out.print(say.address.format(address=address), markup=False, highlight=False)
    out.print(say.link.format(link=link), markup=False, highlight=False)
    if not sys.stdin.isatty():
        out.print(say.not_a_terminal)
        return
    out.print(say.open_it)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _summary(result: DemoResult, say: _Words) -> None:
    for note in result.notes:
        err.print(f"[yellow]{say.note}[/] {escape(note)}")
    out.rule(say.crossed)
    table = Table()
    for column in say.columns:
        table.add_column(column)
    for i, e in enumerate(result.crossed, 1):
        text = " ".join(e["detail"].split())[:60]
        if e["kind"] == "answer":  # "approved <id> <note>": the verdict is a word
            verdict, _, rest = text.partition(" ")
            text = f"{say.verdicts.get(verdict, verdict)} {rest}".strip()
        kind = say.kinds.get(e["kind"], e["kind"])
        table.add_row(str(i), escape(kind), escape(e["sender"]), escape(e["to"]), escape(text))
    out.print(table)
    if not result.ok:
        for problem in result.problems:
            err.print(f"[bold red]{say.failed}[/] {escape(problem)}")
        return
    files = escape(", ".join(result.exports))
    out.print(say.complete.format(n=len(result.crossed), files=files))


def _kept(result: DemoResult, say: _Words) -> None:
    """Where the files the crew exported are now, by absolute path: they outlive the demo."""
    if not result.kept:
        return
    head = say.kept.format(folder=result.kept[0].parent)
    out.print(head, markup=False, highlight=False, soft_wrap=True)
    for path in result.kept:
        out.print(str(path), markup=False, highlight=False, soft_wrap=True)
