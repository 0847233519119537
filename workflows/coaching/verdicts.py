"""One verdict per aspect of a talk, from the figures: what every sentence of feedback says.

The rules' feedback and the report's pace line both read these, so no two sentences can
judge the same thing two ways (a pace "controlled" in one bullet and "too fast" in the
next). Each aspect gets one verdict or None (not measured); the thresholds live here.
"""

from __future__ import annotations

import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workflows.coaching.measures import UNMARKED, Measures

__all__ = ["Verdicts", "classify"]

PaceLevel = Literal["slow", "comfortable", "fast"]
# "steady" is a strength only at a comfortable pace: steadily too fast is still too fast.
PaceSpread = Literal["steady", "moderate", "uneven"]
FillerLevel = Literal["few", "some", "many"]
PauseVerdict = Literal["none", "good", "long", "other"]
SentenceVerdict = Literal["short", "medium", "long"]
Balance = Literal["monologue", "balanced", "uneven"]

_UNEVEN = 0.35  # coefficient of variation of the windows' pace
_STEADY = 0.2
_FEW_FILLERS = 1.0  # per 100 words
_MANY_FILLERS = 3.0
_LONG_PAUSE = 5.0  # seconds
_LONG_TURN = 180.0  # seconds


class Verdicts(BaseModel):
    """What the figures say, aspect by aspect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pace: PaceLevel | None
    spread: PaceSpread | None
    spread_range: tuple[float, float] | None  # the windows' pace, extreme tenths left out
    fillers: FillerLevel | None
    pauses: PauseVerdict | None
    stumbles: bool | None  # None: too short to say there are none
    sentences: SentenceVerdict | None
    balance: Balance | None
    long_turn: bool  # one turn of three minutes or more


def _pace(m: Measures) -> tuple[PaceLevel | None, PaceSpread | None, tuple[float, float] | None]:
    if m.wpm is None:
        return None, None, None
    low, high = m.comfortable_wpm
    level: PaceLevel = "fast" if m.wpm > high else "slow" if m.wpm < low else "comfortable"
    paces = sorted(w.wpm for w in m.windows)
    if len(paces) < 3 or statistics.fmean(paces) <= 0:
        return level, None, None
    # The quoted range leaves out the extreme tenth on each side: one odd window does not
    # make the sentence.
    spread = statistics.pstdev(paces) / statistics.fmean(paces)
    cut = len(paces) // 10
    kind: PaceSpread = (
        "uneven" if spread > _UNEVEN else "steady" if spread <= _STEADY else "moderate"
    )
    return level, kind, (paces[cut], paces[-1 - cut])


def _pauses(m: Measures) -> PauseVerdict | None:
    if m.duration_seconds is None or m.duration_seconds < 30 or m.pauses_between == "none":
        return None
    count = len(m.pauses)
    if count == 0:
        return "none" if m.pauses_between == "words" else None
    if sum(p.seconds > _LONG_PAUSE for p in m.pauses) >= 3:
        return "long"
    per_minute = count / (m.duration_seconds / 60)
    return "good" if 0.3 <= per_minute <= 4 else "other"


def _sentences(m: Measures) -> SentenceVerdict | None:
    if not m.punctuated or not m.sentences or m.sentence_mean is None:
        return None
    long = m.long_sentences or 0
    if m.sentence_mean > 25 or long / m.sentences > 0.2:
        return "long"
    return "short" if m.sentence_mean <= 20 else "medium"


def _balance(m: Measures) -> tuple[Balance | None, bool]:
    real = [s for s in m.speakers if s.speaker != UNMARKED]
    if len(real) < 2:
        return None, False
    longest = m.longest_monologue
    long_turn = bool(longest and longest.seconds and longest.seconds >= _LONG_TURN)
    if real[0].word_share > 0.75:
        return "monologue", long_turn
    # Even shares with one turn holding the floor for minutes is not a balanced exchange.
    balanced = real[0].word_share <= 0.6 and not long_turn
    return ("balanced" if balanced else "uneven"), long_turn


def classify(m: Measures) -> Verdicts:
    """The verdict on each aspect the figures measure."""
    level, spread, span = _pace(m)
    fillers: FillerLevel | None = None
    if m.words >= 30:
        rate = m.fillers_per_100_words
        fillers = "few" if rate < _FEW_FILLERS else "some" if rate < _MANY_FILLERS else "many"
    doubled = sum(r.count for r in m.repeated_words)
    stumbles: bool | None = None
    if doubled and doubled * 100 / max(m.words, 1) >= 0.5:
        stumbles = True
    elif not doubled and m.words >= 100:
        stumbles = False
    balance, long_turn = _balance(m)
    return Verdicts(
        pace=level,
        spread=spread,
        spread_range=span,
        fillers=fillers,
        pauses=_pauses(m),
        stumbles=stumbles,
        sentences=_sentences(m),
        balance=balance,
        long_turn=long_turn,
    )
