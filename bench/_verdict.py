"""How a benchmark ends: its figures judged against targets, the JSON written, an exit code.

Every benchmark declares its targets as ``Target``s (each overridable on the command
line, so a miss can be shown with an impossible one), judges its figures as ``Check``s
and returns ``finish``'s exit code: 1 on a miss, after the JSON is printed and written,
so ``make bench`` stops at the first benchmark that got slower. Imported as a sibling
(``from _verdict import ...``): ``python bench/x.py`` puts bench/ first on sys.path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "Target", "add_targets", "finish"]


@dataclass(frozen=True)
class Target:
    """A bound a figure must keep, ``--target-<name>`` on the command line."""

    name: str  # the JSON records it as ``target_<name>``
    default: float
    help: str

    @property
    def option(self) -> str:
        return "--target-" + self.name.replace("_", "-")

    def of(self, args: argparse.Namespace) -> float:
        """The bound this run uses: the command line's, else the default."""
        return float(getattr(args, f"target_{self.name}"))


def add_targets(parser: argparse.ArgumentParser, *targets: Target) -> None:
    for target in targets:
        parser.add_argument(
            target.option,
            type=float,
            default=target.default,
            metavar="N",
            help=f"{target.help} (default {target.default:g})",
        )


@dataclass(frozen=True)
class Check:
    """One figure against its bound: ``value <= limit``, or ``>=`` when not ``at_most``."""

    figure: str  # where the value sits in the JSON, e.g. "all.p99_ms"
    value: float
    limit: float
    at_most: bool = True

    @property
    def ok(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def __str__(self) -> str:
        kept, missed = ("<=", ">") if self.at_most else (">=", "<")
        sign = kept if self.ok else missed
        return f"{self.figure} {self.value} {sign} target {self.limit}"


def finish(
    script: str, result: Mapping[str, object], checks: Sequence[Check], out: Path | None
) -> int:
    """Print and write ``result`` with its verdict; one stderr line; 1 if a check missed."""
    missed = [str(check) for check in checks if not check.ok]
    document = {**result, "ok": not missed, "missed": missed}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    print(text, flush=True)
    if out is not None:
        out.write_text(text + "\n")
    name = f"bench/{Path(script).name}"
    if missed:
        print(f"{name}: {'; '.join(missed)}", file=sys.stderr)
        return 1
    print(f"{name}: ok, {'; '.join(str(check) for check in checks)}", file=sys.stderr)
    return 0
