"""The demo: a founder's conversation played through the real bus, workers and gateway.

It starts from nothing (an embedded Redis in a temporary folder, the offline model),
asks for work that needs two roles, approves what the CEO proposes, and prints the
conversation and what crossed the bus. It checks each step happened and says if not, in
the founder's language.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from equipage.app import Session, make_gateway, open_session
from equipage.chat import Incoming, Outgoing
from equipage.config import CompanyConfig, Settings, load_config
from equipage.language import pick
from equipage.llm.providers import OFFLINE
from equipage.worker import Worker

__all__ = ["DEMO_COMPANY", "REQUESTS", "TENDER_REQUESTS", "DemoResult", "Hold", "run_demo"]

#: Given what the demo saw, the web console's address and a login link for the founder,
#: once the play is over; the console is served (and the crew runs) until it returns.
Hold = Callable[["DemoResult", str, str], Awaitable[None]]

DEMO_COMPANY = """\
company:
  name: Nuage Clair
  profile:
    sells: managed cloud hosting for small businesses, on European infrastructure
    where: [FR, BE, LU]
    languages: [fr, en]
    tenders:
      cpv: ["72", "48"]
      keywords: [cloud, hosting, hébergement, infogérance, IT services, informatique]
      exclude: [travaux, works]
      bundled: true    # the real notices shipped with Equipage: no network needed
members:
  - id: camille
    name: Camille
    role: owner
    identities: {console: camille}
roles:
  ceo:
    description: Runs the company and routes the founder's requests
    handles: [strategy, plan, priorities, stratégie, priorité]
    # The CEO routes; marketing runs the tender watch.
    tools: [delegate, reply, remember, recall, ask_human]
  cto:
    description: Hosting, infrastructure, security and their costs
    handles: [hosting, infrastructure, cloud, cost, security, hébergement, coût]
  marketing:
    description: Launch posts, announcements, newsletters, social media and public tenders
    handles: [launch post, announcement, newsletter, social, post de lancement, annonce,
              public tenders, appels d'offres]
  support:
    description: Customer questions, tickets and refunds
    handles: [customer, ticket, refund, client, remboursement]
workflows: [tenders]
"""

_SELLS = {
    "en": "managed cloud hosting for small businesses, on European infrastructure",
    "fr": "de l'hébergement cloud infogéré pour les petites entreprises, sur une "
    "infrastructure européenne",
}

REQUESTS = {
    "en": (
        "We launch Nuage Clair Pro next week. I need a launch post from marketing and a "
        "hosting-cost note from the CTO, then we publish."
    ),
    "fr": (
        "Nous lançons Nuage Clair Pro la semaine prochaine. Il me faut un post de lancement "
        "du marketing et une note sur les coûts d'hébergement du CTO, puis on publie."
    ),
}
#: Act two: the tender watch, on the real notices shipped with Equipage.
TENDER_REQUESTS = {
    "en": "Find this week's public tenders for us and draft an answer for the best one.",
    "fr": (
        "Trouve-nous les appels d'offres de la semaine et prépare une réponse pour le meilleur."
    ),
}


@dataclass
class DemoResult:
    """What the demo saw; ``problems`` is empty when every step happened."""

    messages: list[Outgoing] = field(default_factory=list)
    crossed: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)  # files the tender watch wrote
    kept: list[Path] = field(default_factory=list)  # the copies of them the demo kept

    @property
    def ok(self) -> bool:
        return not self.problems


class _Recorder:
    """The console channel of the demo: shows each message and wakes the script."""

    name = "console"

    def __init__(self, show: Callable[[str, Outgoing], None]) -> None:
        self.show = show
        self.messages: list[Outgoing] = []
        self.arrived = asyncio.Event()

    async def send(self, message: Outgoing) -> None:
        self.messages.append(message)
        self.show("crew", message)
        self.arrived.set()

    async def wait_for(self, test: Callable[[Outgoing], bool], timeout: float) -> Outgoing:
        async with asyncio.timeout(timeout):
            while True:
                found = next((m for m in self.messages if test(m)), None)
                if found:
                    return found
                self.arrived.clear()
                await self.arrived.wait()


async def run_demo(
    show: Callable[[str, Outgoing], None],
    *,
    lang: str = "en",
    model: str = OFFLINE,
    settings: Settings | None = None,
    timeout: float = 60.0,
    hold: Hold | None = None,
    keep: Path | None = None,
) -> DemoResult:
    """Play the conversation; ``show(who, message)`` prints each line as it happens.

    Every role runs on ``model``; ``settings`` brings the keys and endpoints (its Redis
    and data folder are replaced: the demo always starts from nothing). With ``hold``,
    the crew's web console is served once the play is over, until ``hold`` returns: the
    demo's folder, and so the console, goes when the demo ends. With ``keep``, the files
    the crew exported are copied there first (``DemoResult.kept``): they outlive the demo.
    """
    with tempfile.TemporaryDirectory(prefix="equipage-demo-") as tmp:
        folder = Path(tmp)
        # The founder's language first: the crew's reports (the tender watch) follow it.
        languages = "[fr, en]" if lang == "fr" else "[en, fr]"
        company = DEMO_COMPANY.replace("languages: [fr, en]", f"languages: {languages}")
        # What the company sells is quoted in its drafts: in the founder's language too.
        company = company.replace(_SELLS["en"], _SELLS[lang])
        (folder / "company.yaml").write_text(company, encoding="utf-8")
        config = _on_model(load_config(folder / "company.yaml"), model)
        settings = replace(settings or Settings(), home=folder / ".equipage", redis_url=None)
        async with open_session(config, settings) as session:
            requests = (REQUESTS[lang], TENDER_REQUESTS[lang])
            result = await _play(session, show, requests, timeout, lang)
            result.notes = session.notes
            if keep is not None:
                result.kept = _keep(session.settings.home, result.exports, keep)
            if hold is not None:
                await _console(session, show, result, hold)
            return result


async def _console(
    session: Session, show: Callable[[str, Outgoing], None], result: DemoResult, hold: Hold
) -> None:
    """Serve the console, with the crew still at work, until ``hold`` returns."""
    from equipage.web.context import Console
    from equipage.web.login import login_link
    from equipage.web.serve import console_server

    gateway = make_gateway(session, {"console": _Recorder(show)})
    stop = asyncio.Event()
    worker = Worker(session.bus, session.crew.handlers, name="demo-worker", concurrency=4)
    tasks = [
        asyncio.create_task(worker.run(stop)),
        asyncio.create_task(gateway.deliver("demo-gateway", stop, block_ms=100)),
    ]
    console = Console(session.redis, session.keys, session.config, session.settings.home)
    web = session.config.channels.web.console
    try:
        async with console_server(
            console, host=web.host, port=web.port, answer=gateway.receive
        ) as served:
            link = await login_link(session.redis, session.keys, session.config.owner.id)
            await hold(result, served.url, link or "")
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await gateway.aclose()


def _keep(home: Path, names: list[str], folder: Path) -> list[Path]:
    """Copies of the files named ``names`` under ``home`` in ``folder``, by absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in sorted(home.rglob("tender-*.*")):
        if path.name in names and path.is_file():
            kept.append(Path(shutil.copy2(path, folder / path.name)).resolve())
    return kept


def _on_model(config: CompanyConfig, model: str) -> CompanyConfig:
    roles = {name: role.model_copy(update={"model": model}) for name, role in config.roles.items()}
    return config.model_copy(update={"roles": roles})


async def _play(
    session: Session,
    show: Callable[[str, Outgoing], None],
    requests: tuple[str, str],
    timeout: float,
    lang: str,
) -> DemoResult:
    result = DemoResult()
    recorder = _Recorder(show)
    gateway = make_gateway(session, {"console": recorder})
    owner = session.config.owner.identities["console"]
    stop = asyncio.Event()
    worker = Worker(session.bus, session.crew.handlers, name="demo-worker", concurrency=4)
    tasks = [
        asyncio.create_task(worker.run(stop)),
        asyncio.create_task(gateway.deliver("demo-gateway", stop, block_ms=100)),
    ]

    async def say(text: str) -> None:
        incoming = Incoming(channel="console", chat=owner, user=owner, text=text)
        show("founder", Outgoing(channel="console", chat=owner, text=text, sender="founder"))
        for answer in await gateway.receive(incoming):
            show("gateway", answer)

    async def ask_and_approve(request: str, asker: str) -> None:
        """Say ``request``; approve the question ``asker`` asks; wait for the CEO after."""
        start = len(recorder.messages)

        def new(m: Outgoing) -> bool:
            return recorder.messages.index(m) >= start

        await say(request)
        question = await recorder.wait_for(
            lambda m: new(m) and m.question is not None and m.sender == asker, timeout
        )
        assert question.question is not None
        await say(f"/approve {question.question.id}")
        start = len(recorder.messages)
        await recorder.wait_for(lambda m: new(m) and m.sender == "ceo", timeout)

    acts = pick(lang, *_ACTS)
    act = acts[0]
    try:
        await ask_and_approve(requests[0], "ceo")
        act = acts[1]
        await ask_and_approve(requests[1], "workflow.tenders")
    except TimeoutError:
        result.problems.append(pick(lang, *_LATE).format(act=act, timeout=timeout))
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await gateway.aclose()
    result.messages = recorder.messages
    result.crossed = await _crossed(session)
    missing = _check(result.crossed, lang)
    result.exports = sorted(p.name for p in session.settings.home.rglob("tender-*.*"))
    if not any(name.endswith(".docx") for name in result.exports):
        missing.append(pick(lang, *_DOCX))
    result.problems += [pick(lang, *_MISSING).format(what=what) for what in missing]
    return result


async def _crossed(session: Session) -> list[dict[str, Any]]:
    """Every envelope published on the bus, in order, from the events stream."""
    events: Any = await session.redis.xrange(session.keys.events)
    out = []
    for _, fields in events:
        event = json.loads(fields[b"event"])
        if event["type"] == "published":
            out.append(event)
    return out


# What the demo checks and says when it fails, in the founder's language: (English, French).
# Each envelope expected: (kind, from, to, English, French).
_EXPECTED = [
    ("task", "member:camille", "ceo", "the founder's request reached the CEO",
     "la demande du fondateur est arrivée au CEO"),
    ("task", "ceo", "marketing", "the CEO delegated to marketing", "le CEO a délégué au marketing"),
    ("task", "ceo", "cto", "the CEO delegated to the CTO", "le CEO a délégué au CTO"),
    ("result", "marketing", "ceo", "marketing answered the CEO", "le marketing a répondu au CEO"),
    ("result", "cto", "ceo", "the CTO answered the CEO", "le CTO a répondu au CEO"),
    ("question", "ceo", "human", "the CEO asked the founder's approval",
     "le CEO a demandé l'accord du fondateur"),
    ("answer", "member:camille", "ceo", "the founder's approval reached the CEO",
     "l'accord du fondateur est arrivé au CEO"),
    ("workflow", "marketing", "workflow.tenders", "marketing started the tender watch",
     "le marketing a lancé la veille des appels d'offres"),
    ("question", "workflow.tenders", "human", "the tender watch asked to export",
     "la veille a demandé l'accord pour l'export"),
    ("answer", "member:camille", "workflow.tenders", "the founder approved the export",
     "le fondateur a approuvé l'export"),
    ("result", "workflow.tenders", "marketing", "the tender watch reported to marketing",
     "la veille a rendu son rapport au marketing"),
]  # fmt: skip
_CONFIRMED = (
    "the CEO's confirmation after the approval",
    "la confirmation du CEO après l'accord",
)
_RETURNED = (
    "the CEO returning the tender list after the export",
    "le CEO renvoyant la liste des appels d'offres après l'export",
)
_DOCX = ("the approved drafts exported as DOCX", "les brouillons approuvés exportés en DOCX")
_MISSING = ("missing: {what}", "manquant : {what}")
_ACTS = (("the launch", "the tender watch"), ("le lancement", "la veille des appels d'offres"))
_LATE = ("{act} did not finish within {timeout:.0f}s", "{act} n'a pas abouti en {timeout:.0f} s")


def _check(crossed: list[dict[str, Any]], lang: str) -> list[str]:
    """What should have crossed the bus and did not, said in ``lang``."""

    def seen(kind: str, sender: str, to: str) -> bool:
        return any(e["kind"] == kind and e["sender"] == sender and e["to"] == to for e in crossed)

    problems = [pick(lang, en, fr) for kind, s, t, en, fr in _EXPECTED if not seen(kind, s, t)]
    answer_at = next((i for i, e in enumerate(crossed) if e["kind"] == "answer"), None)
    confirmed = answer_at is not None and any(
        e["kind"] == "reply" and e["sender"] == "ceo" for e in crossed[answer_at:]
    )
    if not confirmed:
        problems.append(pick(lang, *_CONFIRMED))
    last = max((i for i, e in enumerate(crossed) if e["kind"] == "answer"), default=None)
    returned = last is not None and any(
        e["kind"] == "reply" and e["sender"] == "ceo" for e in crossed[last:]
    )
    if not returned:
        problems.append(pick(lang, *_RETURNED))
    return problems
