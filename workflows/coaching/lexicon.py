"""The words the coach knows: stopwords, filler words and comfortable paces, in French and English.

Everything is stored folded (lowercase, no accents, see ``equipage.text.fold``) and split
on apostrophes and hyphens the way ``equipage.text.words`` splits transcript text, so
"voilà" is ``voila`` and "j'veux dire" would be ``j veux dire``. Which language a
transcript is in is ``equipage.language``'s call.
"""

from __future__ import annotations

from equipage.language import Language

__all__ = ["COMFORTABLE_WPM", "FILLERS", "LOOSE_FILLERS", "STOPWORDS", "Language"]

STOPWORDS: dict[Language, frozenset[str]] = {
    "fr": frozenset(
        "le la les l un une des du de d et ou mais donc or ni car a au aux en dans par pour "
        "sur sous avec sans chez que qu qui quoi dont ou ce c cet cette ces se s sa son ses "
        "mon ma mes ton ta tes notre nos votre vos leur leurs je j tu il elle on nous vous "
        "ils elles me m te t lui y ne n pas plus est sont etait ete etre ai as avons avez ont "
        "avoir fait faire tres bien tout tous toute toutes comme si aussi alors ca cela ici la "
        "va vais vont peu peut".split()
    ),
    "en": frozenset(
        "the a an and or but so of to in on at by for with from as is are was were be been "
        "being am it its this that these those there here i you he she we they me him her us "
        "them my your his our their not no do does did have has had will would can could "
        "should just what which who whom when where how if then than too very all any some "
        "s t ll re ve d m about into up out over".split()
    ),
}

# One entry per filler, folded; multi-word fillers are space-separated token sequences.
FILLERS: dict[Language, tuple[str, ...]] = {
    "fr": (
        "euh", "heu", "hum", "ben", "bah", "bon", "du coup", "en fait", "voila", "genre",
        "quoi", "tu vois", "vous voyez", "en gros", "disons", "je veux dire", "on va dire",
        "bref",
    ),
    "en": (
        "um", "uh", "erm", "er", "hmm", "like", "you know", "i mean", "so", "basically",
        "actually", "kind of", "sort of", "well",
    ),
}  # fmt: skip

# Fillers that are also ordinary words ("I like it", "ce genre de", "voilà le plan", "un
# bon produit", "il en fait partie", "je veux dire deux choses", "do you know him"): they
# are counted only where a rule on their neighbours says they are fillers, so their counts
# are loose.
LOOSE_FILLERS = frozenset(
    {"bon", "bref", "voila", "genre", "quoi", "en fait", "du coup", "je veux dire", "like",
     "so", "kind of", "sort of", "well", "actually", "you know", "i mean"}
)  # fmt: skip

# A rule of thumb, not a standard: ranges presentation coaches commonly quote for a talk
# that is easy to follow. French speakers are usually timed a little faster in words.
COMFORTABLE_WPM: dict[Language, tuple[int, int]] = {"en": (130, 160), "fr": (140, 180)}
