"""Words of a sales conversation, French and English: objections, questions, filler.

Plain lists, matched on accent-folded words (``equipage.text``), so that "Trop cher",
"trop cher !" and "TROP CHER" all count, with no model in the loop. Which language a line
is in is ``equipage.language``'s call.
"""

from __future__ import annotations

from equipage.text import words

__all__ = ["OBJECTIONS", "content_words", "is_question"]

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


def is_question(text: str) -> bool:
    """A question, by its mark or by how it starts ("est-ce que", "how"...)."""
    if text.rstrip().endswith("?"):
        return True
    start = " ".join(words(text)[:4]) + " "
    return start.startswith(_QUESTION_STARTS)
