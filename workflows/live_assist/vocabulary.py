"""Words of a sales conversation, French and English: objections, questions, filler.

Plain lists, matched on accent-folded words (``equipage.text``), so that "Trop cher",
"trop cher !" and "TROP CHER" all count, with no model in the loop. Which language a line
is in is ``equipage.language``'s call.
"""

from __future__ import annotations

import re

from equipage.text import words

__all__ = ["CONCERNS", "OBJECTIONS", "concern_in", "content_words", "is_question"]

#: Objection topic -> phrases that raise it (any language; folded when matched).
OBJECTIONS: dict[str, tuple[str, ...]] = {
    "price": (
        "trop cher",
        "trop chere",
        "c'est cher",
        "coute cher",
        "coute trop",
        "hors budget",
        "pas le budget",
        "pas de budget",
        "budget serre",
        "trop eleve",
        "moins cher",
        "too expensive",
        "expensive",
        "pricey",
        "costs too much",
        "over budget",
        "out of budget",
        "no budget",
        "cheaper",
    ),
    "competitor": (
        "on a deja un",
        "on a deja une",
        "on a deja des",
        "nous avons deja un",
        "nous avons deja une",
        "on utilise deja",
        "nous utilisons deja",
        "on travaille deja",
        "nous travaillons deja",
        "deja un prestataire",
        "deja un fournisseur",
        "notre prestataire actuel",
        "notre fournisseur actuel",
        "we already use",
        "we already have",
        "we already work with",
        "already using",
        "our current provider",
        "our current vendor",
    ),
    "timing": (
        "pas le moment",
        "pas maintenant",
        "pas prioritaire",
        "pas une priorite",
        "l'annee prochaine",
        "rappelez-moi",
        "not now",
        "not a priority",
        "bad timing",
        "next year",
        "call me back",
    ),
    "authority": (
        "en parler a",
        "valider avec",
        "mon patron",
        "ma direction",
        "mon chef",
        "le comite",
        "je vais reflechir",
        "je dois reflechir",
        "check with",
        "talk to my",
        "my boss",
        "my manager",
        "the board",
        "sign off",
        "think about it",
    ),
    "doubt": (
        "pas sur",
        "pas convaincu",
        "pas convaincue",
        "trop risque",
        "sceptique",
        "not sure",
        "not convinced",
        "too risky",
        "skeptical",
        "sceptical",
    ),
}

#: Phrases that raise a concern no stored argument answers ("ce qui m'inquiète, c'est la
#: sécurité"): what follows them is the concern, to be asked about rather than argued.
CONCERNS: tuple[str, ...] = (
    "ce qui m'inquiete",
    "ce qui nous inquiete",
    "ca m'inquiete",
    "ca nous inquiete",
    "je m'inquiete",
    "inquiet pour",
    "inquiete pour",
    "inquiets pour",
    "j'ai peur que",
    "j'ai peur de",
    "on a peur que",
    "on a peur de",
    "je crains",
    "ma crainte",
    "notre crainte",
    "le probleme c'est",
    "le souci c'est",
    "ce qui me gene",
    "ce qui nous gene",
    "ca me gene",
    "je suis reticent",
    "je suis reticente",
    "worried about",
    "worried that",
    "concerned about",
    "concerned that",
    "my concern is",
    "our concern is",
    "my worry is",
    "i'm afraid that",
    "afraid of",
    "the problem is",
    "the issue is",
    "what bothers me",
    "wary of",
    "nervous about",
    "hesitant about",
)

_QUESTION_STARTS = tuple(
    " ".join(words(p)) + " "
    for p in (
        "est-ce que",
        "est ce que",
        "qu'est-ce",
        "comment",
        "pourquoi",
        "combien",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "quand",
        "ou est",
        "pouvez-vous",
        "pourriez-vous",
        "avez-vous",
        "etes-vous",
        "c'est quoi",
        "how",
        "what",
        "why",
        "when",
        "where",
        "which",
        "who",
        "can you",
        "could you",
        "do you",
        "does",
        "did you",
        "is it",
        "is there",
        "are you",
        "will you",
        "would you",
    )
)

#: Words that say nothing about a topic, in a conversation (folded, 4+ letters).
_FILLER = frozenset(
    """
    alors avec avez avoir aussi autre bien bonjour cela cest cette comme comment dans donc
    elle elles encore entre etait etre fait faire faut juste leur leurs mais meme merci
    moins nous oui parce pour pouvez peut plus pourquoi quand quel quelle quels quelles
    rien sans sont suis tout tous tres vous votre vos voila voir vraiment ceci celui
    chez deja dire dont ensuite faites fois ainsi quoi sera serait avons allez
    about after again also because been before being could does doing from have here
    just know like more much must only other really should some such than that their
    them then there these they thing think this those very want well were what when
    where which while will with would your yours yeah okay right
    """.split()
)


def content_words(text: str) -> list[str]:
    """Folded words that can carry a topic, plural 's'/'x' dropped, each once, in order."""
    seen: dict[str, None] = {}
    for word in words(text):
        if len(word) < 4 or word.isdigit() or word in _FILLER:
            continue
        stem = word[:-1] if len(word) > 4 and word[-1] in "sx" else word
        seen.setdefault(stem, None)
    return list(seen)


_LEAD = re.compile(
    r"^(?:c['’]est|ce sont|que|qu['’]|de|d['’]|du|des|about|that|is|are|it['’]s|of)\s*",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.?!;]|,\s|\s-\s")
_SUBJECT_WORDS = 8


def concern_in(text: str) -> str | None:
    """The subject of a concern raised in ``text`` ("la sécurité des données"), as said;
    "" when the concern names none, None when the line raises no concern."""
    spans = [(t, m.end()) for m in re.finditer(r"\w+", text) for t in words(m.group())]
    tokens = [t for t, _ in spans]
    for phrase in CONCERNS:
        wanted = words(phrase)
        for at in range(len(tokens) - len(wanted) + 1):
            if tokens[at : at + len(wanted)] == wanted:
                rest = text[spans[at + len(wanted) - 1][1] :].lstrip(" ,:…-")
                while (lead := _LEAD.match(rest)) and lead.end():
                    rest = rest[lead.end() :]
                subject = _CLAUSE_END.split(rest, maxsplit=1)[0].strip(" ,:")
                return " ".join(subject.split()[:_SUBJECT_WORDS])
    return None


def is_question(text: str) -> bool:
    """A question, by its mark or by how it starts ("est-ce que", "how"...)."""
    if text.rstrip().endswith("?"):
        return True
    start = " ".join(words(text)[:4]) + " "
    return start.startswith(_QUESTION_STARTS)
