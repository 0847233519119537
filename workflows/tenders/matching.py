"""Match tenders against the company's tender profile: hard filters, then a scored ranking.

Plain code, deterministic: the same notices, profile and day give the same ranking. Each
match carries the reasons for its score and each rejected notice the reason it was ruled
out, in English sentences a founder can check against the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from equipage.config import TenderProfile
from equipage.text import words
from workflows.tenders.model import NoticeKind, Tender

__all__ = ["Match", "Ranking", "Rejection", "match", "money", "total_value"]

# Points per criterion; they add up to 100.
_CPV_POINTS = 35
_TITLE_POINTS, _BODY_POINTS, _KEYWORD_POINTS = 15, 6, 35
_VALUE_POINTS = 10
_DEADLINE_POINTS = 15
_LANGUAGE_POINTS = 5
_COMFORT_DAYS = 21  # a deadline this far away leaves time to write a good answer


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Model):
    """A notice that fits the profile, its score (0–100) and the reasons for it."""

    tender: Tender
    score: int
    reasons: tuple[str, ...]


class Rejection(_Model):
    """A notice ruled out, and why (kept for the report and for tuning the profile)."""

    tender_id: str
    title: str
    reason: str


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
        if isinstance(verdict, str):
            rejected.append(Rejection(tender_id=tender.id, title=tender.title, reason=verdict))
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


def money(value: float, currency: str | None) -> str:
    """250000.0, 'EUR' -> '250,000 EUR'."""
    return f"{value:,.0f} {currency or 'EUR'}".strip()


def _order(m: Match) -> tuple[int, str, str]:
    deadline = m.tender.deadline.isoformat() if m.tender.deadline else "9999"
    return (-m.score, deadline, m.tender.id)


def _judge(tender: Tender, profile: TenderProfile, countries: set[str], today: date) -> Match | str:
    """A Match, or the reason (a sentence) the notice is ruled out."""
    ruled_out = _ruled_out(tender, profile, countries, today)
    if ruled_out:
        return ruled_out
    cpv_points, cpv_reason = _cpv(tender, profile.cpv)
    keyword_points, keyword_reasons = _keywords(tender, profile.keywords)
    if (profile.cpv or profile.keywords) and not cpv_reason and not keyword_reasons:
        return "no CPV code or keyword of the profile"
    in_title = any(r.endswith(" in title") for r in keyword_reasons)
    if profile.cpv and tender.cpv and not cpv_reason and not in_title:
        # The buyer's own classification says another trade; a word in the body alone
        # ("centre de loisirs sans hébergement" in a school design contest) is noise.
        return (
            f"CPV {', '.join(tender.cpv[:3])} is outside the profile and its keywords "
            "appear only in the body"
        )
    reasons = [cpv_reason] if cpv_reason else []
    reasons += keyword_reasons
    points = cpv_points + keyword_points
    value = total_value(tender)
    if value is None:
        points += _VALUE_POINTS // 2
        reasons.append("value not stated")
    else:
        points += _VALUE_POINTS
        reasons.append(f"value {money(value, tender.currency)} ≥ {profile.min_value:,.0f}")
    if tender.kind is NoticeKind.PRIOR:
        reasons.append("prior information notice: the call for tenders is not open yet")
    else:
        comfort, reason = _deadline_points(_days_left(tender, today), profile.min_days)
        points += comfort
        reasons.append(reason)
    if tender.language in ("fr", "en"):
        points += _LANGUAGE_POINTS
    return Match(tender=tender, score=min(100, points), reasons=tuple(reasons))


def _ruled_out(tender: Tender, profile: TenderProfile, countries: set[str], today: date) -> str:
    """The hard filters: the reason the notice cannot be bid on by this company, or ''."""
    if tender.kind is NoticeKind.AWARD:
        return "award notice: the contract is already awarded"
    if tender.kind is NoticeKind.CANCELLATION:
        return "cancellation notice: there is nothing left to bid on"
    if countries and tender.country and tender.country.upper() not in countries:
        return f"country {tender.country} is not one of {', '.join(sorted(countries))}"
    days = _days_left(tender, today)
    if tender.kind is not NoticeKind.PRIOR and days is not None:
        if days < 0:
            return f"deadline passed {-days} day(s) ago"
        if days < profile.min_days:
            return f"deadline in {days} day(s), fewer than the {profile.min_days} needed to bid"
        if days > profile.horizon_days:
            return f"deadline in {days} days, beyond the {profile.horizon_days}-day horizon"
    excluded = _excluded(tender, profile.exclude)
    if excluded:
        return excluded
    value = total_value(tender)
    if value is not None and value < profile.min_value:
        return f"value {money(value, tender.currency)} is below {profile.min_value:,.0f}"
    return ""


def _days_left(tender: Tender, today: date) -> int | None:
    if tender.deadline is None:
        return None
    return (tender.deadline.date() - today).days


def _deadline_points(days: int | None, min_days: int) -> tuple[int, str]:
    if days is None:
        return _DEADLINE_POINTS // 3, "deadline not stated"
    span = max(1, _COMFORT_DAYS - min_days)
    comfort = min(1.0, max(0.0, (days - min_days) / span))
    return round(5 + comfort * (_DEADLINE_POINTS - 5)), f"deadline in {days} days"


def _cpv(tender: Tender, prefixes: Sequence[str]) -> tuple[int, str]:
    """Points for the deepest profile prefix a code of the notice starts with."""
    codes = list(dict.fromkeys([*tender.cpv, *(c for lot in tender.lots for c in lot.cpv)]))
    best: tuple[int, str, str] | None = None
    for code in codes:
        for prefix in prefixes:
            if code.startswith(prefix) and (best is None or len(prefix) > len(best[2])):
                best = (codes.index(code), code, prefix)
    if best is None:
        return 0, ""
    index, code, prefix = best
    depth = (len(prefix) - 2) / 6  # 2 digits: a division; 8 digits: the exact service
    points = round(20 + depth * (_CPV_POINTS - 20))
    if index > 0 or (tender.cpv and code != tender.cpv[0]):
        points -= 5  # an additional code: the notice is about something else first
    return points, f"CPV {code} matches {prefix}"


def _keywords(tender: Tender, keywords: Sequence[str]) -> tuple[int, list[str]]:
    title = _stems(tender.title)
    bodies = [("description", _stems(tender.description))] + [
        (f"lot {lot.id}", _stems(f"{lot.title} {lot.description}")) for lot in tender.lots
    ]
    points, reasons = 0, []
    for keyword in dict.fromkeys(keywords):
        phrase = _stems(keyword)
        if not phrase:
            continue
        if _contains(title, phrase):
            points += _TITLE_POINTS
            reasons.append(f"keyword '{keyword}' in title")
            continue
        where = next((name for name, body in bodies if _contains(body, phrase)), None)
        if where is not None:
            points += _BODY_POINTS
            reasons.append(f"keyword '{keyword}' in {where}")
    return min(points, _KEYWORD_POINTS), reasons


def _excluded(tender: Tender, exclude: Sequence[str]) -> str:
    """The reason an exclude word rules the notice out, or ''."""
    title = _stems(tender.title)
    body = _stems(tender.description)
    for word in exclude:
        phrase = _stems(word)
        if phrase and _contains(title, phrase):
            return f"excluded word '{word}' in title"
        if phrase and _contains(body, phrase):
            return f"excluded word '{word}' in description"
    return ""


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
