"""Cron expressions of company.yaml schedules: a syntax check with messages that teach.

Five fields (minute hour day-of-month month day-of-week), with ``*``, ranges, steps,
lists and month or day names, checked against each field's bounds.
"""

from __future__ import annotations

import re

__all__ = ["check_cron"]

_CRON_ITEM = re.compile(r"(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def check_cron(expr: str) -> str:
    """Return ``expr`` normalised, or raise ValueError saying which field is wrong."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron {expr!r} has {len(parts)} fields; write 5: minute hour day-of-month month "
            "day-of-week, e.g. '0 8 * * MON'"
        )
    for text, (label, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        if not all(_cron_item(item, low, high, names) for item in text.split(",")):
            allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
            raise ValueError(f"cron {expr!r}: {label} {text!r} is not valid; use {allowed}")
    return " ".join(parts)


def _cron_item(item: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    match = _CRON_ITEM.fullmatch(item)
    if not match or (match[2] is not None and int(match[2]) < 1):
        return False
    return match[1] == "*" or all(
        value.upper() in names or (value.isdigit() and low <= int(value) <= high)
        for value in match[1].split("-")
    )
