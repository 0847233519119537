"""The ``offline`` model: deterministic rules, no network, enough to run the crew end to end.

It routes a request to the roles whose keywords it mentions, waits for their results,
asks the founder before anything is published, and otherwise fills the role's answer
template. Everything it writes to a person says it comes from the offline model, in the
language of the request: French or English as its words tell, else the company's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from equipage import prompting
from equipage.compaction import SUMMARY_HEADING
from equipage.language import Language, language_of, said
from equipage.llm.base import TextSink
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, Usage
from equipage.llm.options import ProviderOptions
from equipage.text import matches_any

__all__ = ["APPROVED", "APPROVED_FR", "OFFLINE_NOTE", "OfflineModel"]

OFFLINE_NOTE = "(offline model: rules and templates, no AI; set ANTHROPIC_API_KEY for real drafts)"
OFFLINE_NOTE_FR = (
    "(modèle hors ligne : règles et gabarits, sans IA ; définissez ANTHROPIC_API_KEY "
    "pour de vrais brouillons)"
)

#: The confirmation once the founder approves: what was done (an approval), not a publication.
APPROVED = (
    "Approved, thank you. Nothing was published: the offline model has no tool that "
    "publishes, so the drafts above are ready for you to post."
)
APPROVED_FR = (
    "Validé, merci. Rien n'a été publié : le modèle hors ligne n'a aucun outil de "
    "publication ; les brouillons ci-dessus sont prêts, à vous de les diffuser."
)

_PUBLISH = (
    "publish", "post", "launch", "announce", "send", "release", "tweet",
    "publier", "publie", "poster", "lancer", "lancement", "annoncer", "annonce", "envoyer",
)  # fmt: skip
_REMEMBER = re.compile(
    r"^\s*(?:please\s+)?(?:remember|note)(?:\s+that)?[:,]?\s+(?P<fact>.+)$"
    # \b after the verb: "Noted, thanks" or "notebook" is not "note" plus a fact.
    r"|^\s*(?:retiens|retenez|note|notez|n'oublie pas)\b"
    r"(?:\s+que\b|\s+qu')?[:,]?\s*(?P<fait>.+)$",
    re.I | re.S,
)
_RECALL = re.compile(
    r"^\s*(?:what do you know about|what do we know about|recall)\s+(?P<q>.+?)\??$"
    r"|^\s*(?:que sais-tu (?:de|sur|à propos de)|que sait-on (?:de|sur))\s+(?P<qfr>.+?)\s*\??$",
    re.I | re.S,
)


class OfflineModel:
    """A rule-based stand-in for a model, deterministic for the same conversation."""

    name = "offline"
    #: Writes no prose of its own: workflows fall back on their templates (``ctx.write``).
    templated = True

    def __init__(self, model_id: str = "", options: ProviderOptions | None = None) -> None:
        self.model_id = model_id or "rules-v1"

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: TextSink | None = None,
    ) -> Completion:
        turn = _Turn(messages, tools)
        content, calls = turn.decide()
        size = sum(len(m.content) for m in messages) // 4
        return Completion(
            content=content,
            tool_calls=tuple(calls),
            usage=Usage(input_tokens=size, output_tokens=len(content) // 4),
            model=f"offline:{self.model_id}",
            stop_reason="tool_use" if calls else "end_turn",
        )


class _Turn:
    """One decision, read from the conversation so far."""

    def __init__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> None:
        self.messages = list(messages)
        self.tools = {t.name for t in tools}
        self.workflows = [
            w
            for t in tools
            if t.name == "start_workflow"
            for w in prompting.parse_listing(t.description)
        ]
        self.system = "\n".join(m.content for m in messages if m.role == "system")
        self._ids = sum(len(m.tool_calls) for m in messages)
        self.language = self._language()
        self.french = self.language == "fr"

    # -- the rules ------------------------------------------------------------------------
    def decide(self) -> tuple[str, list[ToolCall]]:
        last = self.messages[-1]
        if self.system.startswith(SUMMARY_HEADING):
            return self._summary(last.content), []
        if last.role == "tool":
            return self._after_tools()
        if prompting.parse_result(last):
            return self._after_result()
        return self._on_request(last)

    def _on_request(self, message: Message) -> tuple[str, list[ToolCall]]:
        text = message.content.strip()
        if "remember" in self.tools and (m := _REMEMBER.match(text)):
            return "", [self._call("remember", fact=(m["fact"] or m["fait"]).strip())]
        if "recall" in self.tools and (m := _RECALL.match(text)):
            return "", [self._call("recall", query=(m["q"] or m["qfr"]).strip())]
        if "start_workflow" in self.tools:
            wanted = [w.role for w in self.workflows if matches_any(text, w.handles)]
            if wanted:
                return "", [self._call("start_workflow", name=wanted[0])]
        if "delegate" in self.tools:
            roles = [
                t.role for t in prompting.parse_team(self.system) if matches_any(text, t.handles)
            ]
            if roles:
                return "", [self._call("delegate", role=r, brief=text) for r in roles]
        return "", [self._call("reply", text=self._draft(text, message))]

    def _after_tools(self) -> tuple[str, list[ToolCall]]:
        results = self._last_tool_results()
        names = {r.name for r in results}
        if "ask_human" in names:
            answer = next(r for r in results if r.name == "ask_human").content
            return "", [self._call("reply", text=self._after_answer(answer))]
        if names & {"remember", "recall"} and "reply" in self.tools:
            summary = "\n".join(r.content for r in results)
            return "", [self._call("reply", text=self._to_person(summary))]
        if names & {"delegate", "start_workflow"}:
            roles = sorted({_handed_to(c, self.french) for c in self._last_calls()})
            request = self.messages[self._request()]
            if "reply" in self.tools and (request.name or "").startswith("member:"):
                who = " et ".join(roles) if self.french else " and ".join(roles)
                ack = (
                    _contracted(
                        f"J'ai confié cela à {who} ; je reviens vers vous avec leur travail."
                    )
                    if self.french
                    else f"I have asked {who}; I will come back to you with their work."
                )
                return "", [self._call("reply", text=self._to_person(ack))]
            return self._waiting(roles), []
        return "", []

    def _after_result(self) -> tuple[str, list[ToolCall]]:
        request = self._request()
        delegated = self._delegations_since(request)
        answered = {
            parsed[1]: parsed
            for m in self.messages[request:]
            if (parsed := prompting.parse_result(m))
        }
        missing = [c for c in delegated if c.id not in answered]
        if missing:
            return self._waiting(sorted(_handed_to(c, self.french) for c in missing)), []
        ask = self.messages[request].content
        french = self.french
        parts = [f"**{sender}**\n{_plain(text)}" for sender, _, text in answered.values()]
        summary = "\n\n".join(parts)
        if "ask_human" in self.tools and matches_any(ask, _PUBLISH):
            question = (
                f"Voici ce que l'équipe a préparé :\n\n{summary}\n\nJe publie ?"
                if french
                else f"Here is what the team prepared:\n\n{summary}\n\nShall I publish it?"
            )
            return "", [self._call("ask_human", question=question)]
        head = "Voici ce que l'équipe a préparé :" if french else "Here is what the team prepared:"
        return "", [self._call("reply", text=self._to_person(f"{head}\n\n{summary}"))]

    def _summary(self, transcript: str) -> str:
        """Extractive: the first line of each turn, shortened; no judgement, no loss of who."""
        lines = [line for line in transcript.splitlines() if line.strip()]
        kept = [line[:160] for line in lines if not line.startswith(("tool:", "assistant: \n"))]
        return "\n".join(kept[-40:])

    # -- helpers ------------------------------------------------------------------------
    def _draft(self, text: str, message: Message) -> str:
        template = prompting.answer_template(self.system, self.language) or "{brief}"
        draft = prompting.fill(template, {"brief": text})
        if (message.name or "").startswith("member:"):
            return self._to_person(draft)
        return draft

    def _after_answer(self, answer: str) -> str:
        french = self.french
        verdict, _, note = answer.partition(":")
        if verdict.strip() == "approved":
            # No tool here publishes anything: the approval is all that happened, so say
            # that, and leave the drafts to the founder rather than claim they went out.
            text = APPROVED_FR if french else APPROVED
        else:
            reason = note.strip() or ("pas de raison donnée" if french else "no reason given")
            text = (
                f"Entendu, je ne publie pas ({reason})."
                if french
                else f"Understood, nothing was published ({reason})."
            )
        return self._to_person(text)

    def _waiting(self, roles: list[str]) -> str:
        """The turn's text while results are awaited (kept in the thread, not sent)."""
        if self.french:
            return _contracted(f"En attente des résultats de {', '.join(roles)}.")
        return f"Waiting for results from {', '.join(roles)}."

    def _to_person(self, text: str) -> str:
        note = OFFLINE_NOTE_FR if self.french else OFFLINE_NOTE
        return f"{text}\n\n{note}"

    def _language(self) -> Language:
        """The latest request's language; for a request whose words tell neither ("OK ?"),
        the company's as the prompt states it (English when it does not)."""
        request = self.messages[self._request()].content
        return language_of(request) or said(prompting.company_language(self.system))

    def _request(self) -> int:
        """Index of the latest request: a user message that is not a delegated result."""
        for i in range(len(self.messages) - 1, -1, -1):
            m = self.messages[i]
            if m.role == "user" and not prompting.parse_result(m):
                return i
        return 0

    def _delegations_since(self, start: int) -> list[ToolCall]:
        return [
            c
            for m in self.messages[start:]
            if m.role == "assistant"
            for c in m.tool_calls
            if c.name in ("delegate", "start_workflow")
        ]

    def _last_calls(self) -> tuple[ToolCall, ...]:
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m.tool_calls
        return ()

    def _last_tool_results(self) -> list[Message]:
        out: list[Message] = []
        for m in reversed(self.messages):
            if m.role != "tool":
                break
            out.append(m)
        return out[::-1]

    def _call(self, tool: str, /, **arguments: str) -> ToolCall:
        self._ids += 1
        return ToolCall(id=f"offline-{self._ids}", name=tool, arguments=dict(arguments))


_HEADS = ("Here is what the team prepared:", "Voici ce que l'équipe a préparé :")


def _plain(text: str) -> str:
    """A result as the offline model relays it: without the note and heading that the
    role which sent it already added (one of each is enough in the final answer)."""
    text = text.replace(OFFLINE_NOTE, "").replace(OFFLINE_NOTE_FR, "").strip()
    for head in _HEADS:
        if text.startswith(head):
            text = text[len(head) :].strip()
    return text


def _contracted(text: str) -> str:
    """French contracts "à le" and "de le" ("au workflow", "du workflow")."""
    return text.replace(" à le ", " au ").replace(" de le ", " du ")


def _handed_to(call: ToolCall, french: bool = False) -> str:
    """Who a delegate or start_workflow call handed the work to, said in French or English."""
    if call.name == "start_workflow":
        name = call.arguments.get("name")
        return f"le workflow {name}" if french else f"the {name} workflow"
    return str(call.arguments.get("role"))
