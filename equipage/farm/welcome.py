"""The message a new crew's owner gets on their platform: the crew is ready, what to do next.

It is an ordinary reply on the crew's outbox, so whatever delivers that crew's replies
delivers it, in the crew's language.
"""

from __future__ import annotations

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.farm.crews import Crew

__all__ = ["WELCOME", "welcome", "welcome_text"]

#: The welcome per language; English for a language without one.
WELCOME = {
    "en": (
        "Hello {owner}, your crew {crew} is ready. Write to me here in plain words what you "
        "need done: a CEO agent takes it and hands the work to its team, and asks you "
        "before anything is published, sent or paid for.\n"
        "Next: tell the crew what your company sells and to whom; /help lists the commands; "
        "someone who writes here gets a pairing code, which /pair CODE lets in."
    ),
    "fr": (
        "Bonjour {owner}, votre équipage {crew} est prêt. Écrivez-moi ici en langage courant "
        "ce que vous voulez faire faire : un agent PDG s'en charge, confie le travail à son "
        "équipe et vous demande votre accord avant toute publication, tout envoi ou paiement.\n"
        "Ensuite : dites à l'équipage ce que vend votre entreprise et à qui ; /help liste les "
        "commandes ; quelqu'un qui écrit ici reçoit un code d'appairage, que /pair CODE "
        "laisse entrer."
    ),
}


def welcome_text(crew: Crew) -> str:
    """The welcome of ``crew``, in its language."""
    text = WELCOME.get(crew.language, WELCOME["en"])
    return text.format(owner=crew.owner.name, crew=crew.name)


async def welcome(crew: Crew, bus: Bus, *, member: str = "owner") -> Envelope:
    """Put the welcome on the crew's outbox, to its owner (``member``: their id in the config)."""
    owner = crew.owner
    envelope = Envelope(
        kind=Kind.REPLY,
        company=crew.name,
        to="human",
        sender="farm",
        thread=f"{owner.platform}:{owner.id}",
        text=welcome_text(crew),
        origin=Origin(channel=owner.platform, chat=owner.id, member=member, language=crew.language),
    )
    await bus.publish(envelope)
    return envelope
