"""The pace chart: words per minute over time, the comfortable band, the long pauses.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe off
the event loop), imported only when a chart is drawn. The PNG carries no date or version
metadata, so the same transcript always gives the same file.
"""

from __future__ import annotations

from pathlib import Path

from equipage.errors import MissingExtraError
from workflows.coaching.measures import Measures

__all__ = ["draw_pace_chart"]

_LABELS = {
    "en": {
        "title": "Pace over time",
        "x": "minutes",
        "y": "words per minute",
        "band": "comfortable range {low}–{high} wpm (rule of thumb)",
        "mean": "average {wpm:.0f} wpm",
        "pace": "pace per {window:g} s window",
        "pause": "pause over {seconds:g} s",
        "focus": " — {speaker}",
    },
    "fr": {
        "title": "Débit au fil du temps",
        "x": "minutes",
        "y": "mots par minute",
        "band": "zone confortable {low}–{high} mots/min (repère empirique)",
        "mean": "moyenne {wpm:.0f} mots/min",
        "pace": "débit par fenêtre de {window:g} s",
        "pause": "pause de plus de {seconds:g} s",
        "focus": " — {speaker}",
    },
}
_MAX_PAUSE_MARKS = 60  # beyond this the marks hide the line; the longest are kept


def draw_pace_chart(measures: Measures, path: Path) -> Path:
    """Write the PNG to ``path``; MissingExtraError when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingExtraError("the pace chart", "coaching") from err
    if measures.start is None or not measures.windows:
        raise ValueError("a pace chart needs a timed transcript")
    text = _LABELS[measures.language]
    origin = measures.start
    figure = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    low, high = measures.comfortable_wpm
    axes.axhspan(
        low, high, color="#2e7d32", alpha=0.12, label=text["band"].format(low=low, high=high)
    )
    xs = [((w.start + w.end) / 2 - origin) / 60 for w in measures.windows]
    ys = [w.wpm for w in measures.windows]
    axes.plot(
        xs, ys, color="#1565c0", marker="o", markersize=3, linewidth=1.6,
        label=text["pace"].format(window=measures.window_seconds),
    )  # fmt: skip
    if measures.wpm is not None:
        axes.axhline(
            measures.wpm, color="#1565c0", linestyle="--", linewidth=0.9,
            label=text["mean"].format(wpm=measures.wpm),
        )  # fmt: skip
    longest = sorted(measures.pauses, key=lambda p: -p.seconds)[:_MAX_PAUSE_MARKS]
    for i, pause in enumerate(sorted(longest, key=lambda p: p.start)):
        axes.axvline(
            (pause.start - origin) / 60, color="#c62828", alpha=0.45, linewidth=0.8,
            label=text["pause"].format(seconds=measures.pause_threshold) if i == 0 else None,
        )  # fmt: skip
    title = text["title"]
    if measures.focus:
        title += text["focus"].format(speaker=measures.focus)
    axes.set_title(title)
    axes.set_xlabel(text["x"])
    axes.set_ylabel(text["y"])
    top = max([*ys, high, measures.wpm or 0.0]) * 1.15
    axes.set_ylim(0, top)
    axes.set_xlim(0, max(((measures.duration_seconds or 0.0) / 60), xs[-1]) or 1.0)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize=8, framealpha=0.85)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" entry: the bytes depend on the figures only, not on the library version.
    figure.savefig(path, format="png", metadata={"Software": None})
    return path
