"""Match tenders against the company's tender profile: hard filters, then a scored ranking.

Plain code, deterministic: the same notices, profile and day give the same ranking.
Keywords are matched against the notice's own words in every language it is written in
(title, description, lots), never against TED's label of a CPV code. Each
match carries the reasons for its score and each rejected notice the reason it was ruled
out, as a ``Reason`` (a code and its values) that ``wording`` puts in French or English
sentences a founder can check against the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.config import TenderProfile
from equipage.text import words
from workflows._language import number
from workflows.tenders.model import NoticeKind, Tender

__all__ = [
    "Match",
    "Ranking",
    "Reason",
    "ReasonCode",
    "Rejection",
    "amount",
    "match",
    "money",
    "total_value",
]

# Points per criterion; they add up to 100.
_CPV_POINTS = 35
_TITLE_POINTS, _BODY_POINTS, _KEYWORD_POINTS = 15, 6, 35
_VALUE_POINTS = 10
_DEADLINE_POINTS = 15
_LANGUAGE_POINTS = 5
_COMFORT_DAYS = 21  # a deadline this far away leaves time to write a good answer


ReasonCode = Literal[
    # why a notice scores
    "cpv", "keyword_title", "keyword_description", "keyword_lot", "value", "no_value",
    "deadline", "no_deadline", "prior",
    # why a notice is ruled out
    "award", "cancellation", "country", "deadline_passed", "deadline_short", "deadline_far",
    "excluded_title", "excluded_description", "below_value", "no_fit", "other_trade",
    "works",
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Model):
    """One reason, as data: ``wording`` says it in the reader's language.

    ``values`` fill the sentence: numbers stay numbers (days, amounts) so each language
    writes them its own way.
    """

    code: ReasonCode
    values: dict[str, str | int | float] = {}


class Match(_Model):
    """A notice that fits the profile, its score (0–100) and the reasons for it.

    ``ruled_out`` marks a notice the founder picked although the profile rules it out:
    its one reason is why.
    """

    tender: Tender
    score: int
    reasons: tuple[Reason, ...]
    ruled_out: bool = False


class Rejection(_Model):
    """A notice ruled out, and why (kept for the report and for tuning the profile)."""

    tender_id: str
    title: str
    titles: dict[str, str] = {}  # the title in each language the notice gives it
    reason: Reason

    def title_in(self, language: str) -> str:
        """The title in ``language`` when the notice has it, else in its own language."""
        return self.titles.get(language) or self.title


class Ranking(_Model):
    """Biddable matches best first, prior notices that fit ("coming soon"), rejections."""

    matches: tuple[Match, ...] = ()
    upcoming: tuple[Match, ...] = ()
    rejected: tuple[Rejection, ...] = ()


def match(
    tenders: Iterable[Tender], profile: TenderProfile, *, where: tuple[str, ...], today: date
) -> Ranking:
    """Rank ``tenders`` for ``profile``; ``where`` is used when the profile names no country."""
    countries = {c.upper() for c in (profile.countries or where)}
    matches: list[Match] = []
    upcoming: list[Match] = []
    rejected: list[Rejection] = []
    for tender in tenders:
        verdict = _judge(tender, profile, countries, today)
        if isinstance(verdict, Reason):
            rejected.append(Rejection(tender_id=tender.id, title=tender.title,
                                      titles=tender.titles, reason=verdict))  # fmt: skip
        elif tender.kind is NoticeKind.PRIOR:
            upcoming.append(verdict)
        else:
            matches.append(verdict)
    return Ranking(
        matches=tuple(sorted(matches, key=_order)),
        upcoming=tuple(sorted(upcoming, key=_order)),
        rejected=tuple(sorted(rejected, key=lambda r: r.tender_id)),
    )


def total_value(tender: Tender) -> float | None:
    """The notice's estimated value, or the sum of its lots' values when only they say."""
    if tender.value is not None:
        return tender.value
    values = [lot.value for lot in tender.lots if lot.value is not None]
    return sum(values) if values else None


def money(value: float, currency: str | None, language: str = "en") -> str:
    """250000.0, 'EUR' -> '250,000 EUR' (English), '250 000 EUR' (French)."""
    return f"{amount(value, language)} {currency or 'EUR'}".strip()


def amount(value: float, language: str = "en") -> str:
    """A whole amount with thousands grouped the reader's way: 20,000 or 20 000."""
    return number(value, ",.0f", language)


def _order(m: Match) -> tuple[int, str, str]:
    deadline = m.tender.deadline.isoformat() if m.tender.deadline else "9999"
    return (-m.score, deadline, m.tender.id)


def _judge(
    tender: Tender, profile: TenderProfile, countries: set[str], today: date
) -> Match | Reason:
    """A Match, or the reason the notice is ruled out."""
    ruled_out = _ruled_out(tender, profile, countries, today)
    if ruled_out is not None:
        return ruled_out
    cpv_points, cpv_reason = _cpv(tender, profile.cpv)
    keyword_points, keyword_reasons = _keywords(tender, profile.keywords)
    if (profile.cpv or profile.keywords) and not cpv_reason and not keyword_reasons:
        return Reason(code="no_fit")
    main = tender.cpv[0] if tender.cpv else ""
    if tender.nature == "works" and not any(main.startswith(p) for p in profile.cpv):
        # A works contract whose main code is another trade: the profile's codes are only
        # the supplies it includes (software on a building site, screens to install).
        return Reason(code="works", values={"code": main or "?"})
    in_title = any(r.code == "keyword_title" for r in keyword_reasons)
    if profile.cpv and tender.cpv and not cpv_reason and not in_title:
        # The buyer's own classification says another trade; a word in the body alone
        # ("centre de loisirs sans hébergement" in a school design contest) is noise.
        return Reason(code="other_trade", values={"codes": ", ".join(tender.cpv[:3])})
    reasons = [cpv_reason] if cpv_reason else []
    reasons += keyword_reasons
    points = cpv_points + keyword_points
    value = total_value(tender)
    if value is None:
        points += _VALUE_POINTS // 2
        reasons.append(Reason(code="no_value"))
    else:
        points += _VALUE_POINTS
        reasons.append(_value_reason("value", value, tender.currency, profile.min_value))
    if tender.kind is NoticeKind.PRIOR:
        reasons.append(Reason(code="prior"))
    else:
        comfort, reason = _deadline_points(_days_left(tender, today), profile.min_days)
        points += comfort
        reasons.append(reason)
    if tender.language in ("fr", "en"):
        points += _LANGUAGE_POINTS
    return Match(tender=tender, score=min(100, points), reasons=tuple(reasons))


def _ruled_out(
    tender: Tender, profile: TenderProfile, countries: set[str], today: date
) -> Reason | None:
    """The hard filters: the reason the notice cannot be bid on by this company, or None."""
    if tender.kind is NoticeKind.AWARD:
        return Reason(code="award")
    if tender.kind is NoticeKind.CANCELLATION:
        return Reason(code="cancellation")
    if countries and tender.country and tender.country.upper() not in countries:
        listed = ", ".join(sorted(countries))
        return Reason(code="country", values={"country": tender.country, "countries": listed})
    days = _days_left(tender, today)
    if tender.kind is not NoticeKind.PRIOR and days is not None:
        if days < 0:
            return Reason(code="deadline_passed", values={"days": -days})
        if days < profile.min_days:
            return Reason(code="deadline_short", values={"days": days, "min": profile.min_days})
        if days > profile.horizon_days:
            horizon = profile.horizon_days
            return Reason(code="deadline_far", values={"days": days, "horizon": horizon})
    excluded = _excluded(tender, profile.exclude)
    if excluded is not None:
        return excluded
    value = total_value(tender)
    if value is not None and value < profile.min_value:
        return _value_reason("below_value", value, tender.currency, profile.min_value)
    return None


def _value_reason(
    code: Literal["value", "below_value"], value: float, currency: str | None, minimum: float
) -> Reason:
    return Reason(code=code, values={"value": value, "currency": currency or "EUR", "min": minimum})


def _days_left(tender: Tender, today: date) -> int | None:
    if tender.deadline is None:
        return None
    return (tender.deadline.date() - today).days


def _deadline_points(days: int | None, min_days: int) -> tuple[int, Reason]:
    if days is None:
        return _DEADLINE_POINTS // 3, Reason(code="no_deadline")
    span = max(1, _COMFORT_DAYS - min_days)
    comfort = min(1.0, max(0.0, (days - min_days) / span))
    points = round(5 + comfort * (_DEADLINE_POINTS - 5))
    return points, Reason(code="deadline", values={"days": days})


def _cpv(tender: Tender, prefixes: Sequence[str]) -> tuple[int, Reason | None]:
    """Points for the deepest profile prefix a code of the notice starts with."""
    codes = list(dict.fromkeys([*tender.cpv, *(c for lot in tender.lots for c in lot.cpv)]))
    best: tuple[int, str, str] | None = None
    for code in codes:
        for prefix in prefixes:
            if code.startswith(prefix) and (best is None or len(prefix) > len(best[2])):
                best = (codes.index(code), code, prefix)
    if best is None:
        return 0, None
    index, code, prefix = best
    depth = (len(prefix) - 2) / 6  # 2 digits: a division; 8 digits: the exact service
    points = round(20 + depth * (_CPV_POINTS - 20))
    if index > 0 or (tender.cpv and code != tender.cpv[0]):
        points -= 5  # an additional code: the notice is about something else first
    return points, Reason(code="cpv", values={"code": code, "prefix": prefix})


def _keywords(tender: Tender, keywords: Sequence[str]) -> tuple[int, list[Reason]]:
    titles = _titles(tender)
    bodies = [("", _descriptions(tender))] + [
        (lot.id, [_stems(f"{lot.title} {lot.description}")]) for lot in tender.lots
    ]
    points, reasons = 0, []
    for keyword in dict.fromkeys(keywords):
        phrase = _stems(keyword)
        if not phrase:
            continue
        if _in_any(titles, phrase):
            points += _TITLE_POINTS
            reasons.append(Reason(code="keyword_title", values={"keyword": keyword}))
            continue
        lot = next((name for name, texts in bodies if _in_any(texts, phrase)), None)
        if lot == "":
            points += _BODY_POINTS
            reasons.append(Reason(code="keyword_description", values={"keyword": keyword}))
        elif lot is not None:
            points += _BODY_POINTS
            reasons.append(Reason(code="keyword_lot", values={"keyword": keyword, "lot": lot}))
    return min(points, _KEYWORD_POINTS), reasons


def _titles(tender: Tender) -> list[tuple[str, ...]]:
    """The notice's title in every language it gives; none when it is TED's CPV label.

    TED titles a notice without one of its own by its place and its CPV code's label:
    TED's words, not the buyer's, so a keyword found there says nothing of the notice.
    """
    if tender.title_is_label:
        return []
    return [_stems(t) for t in dict.fromkeys([tender.title, *tender.titles.values()])]


def _descriptions(tender: Tender) -> list[tuple[str, ...]]:
    texts = [tender.description, *tender.descriptions.values()]
    return [_stems(t) for t in dict.fromkeys(texts) if t]


def _in_any(texts: list[tuple[str, ...]], phrase: tuple[str, ...]) -> bool:
    return any(_contains(tokens, phrase) for tokens in texts)


def _excluded(tender: Tender, exclude: Sequence[str]) -> Reason | None:
    """The reason an exclude word rules the notice out, or None."""
    titles = _titles(tender)
    bodies = _descriptions(tender)
    for word in exclude:
        phrase = _stems(word)
        if phrase and _in_any(titles, phrase):
            return Reason(code="excluded_title", values={"word": word})
        if phrase and _in_any(bodies, phrase):
            return Reason(code="excluded_description", values={"word": word})
    return None


def _stem(word: str) -> str:
    """Cheap French/English plural folding: services -> service, réseaux -> reseau."""
    if word.endswith("eaux"):
        return word[:-1]
    if len(word) > 4 and word.endswith("aux"):
        return word[:-3] + "al"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word[-1] in "sx" and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stems(text: str) -> tuple[str, ...]:
    """Folded, stemmed word tokens; elisions (l'hébergement) split off by ``words``."""
    return tuple(_stem(w) for w in words(text))


def _contains(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))
