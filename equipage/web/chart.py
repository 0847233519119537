"""A bar chart as inline SVG, drawn on the server: no chart library, nothing fetched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

__all__ = ["bars"]

_WIDTH, _HEIGHT = 720, 200
_TOP, _BOTTOM, _LEFT = 16, 28, 56


def bars(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str,
    shown: Callable[[float, str], str] = format,
) -> Markup:
    """One bar per point (label, value), with a value scale and every few labels under it.

    Each bar carries a ``<title>`` with its label and value, which browsers show on hover
    and screen readers read. ``shown(value, spec)`` writes a number the reader's way.
    """
    top = max((value for _, value in points), default=0.0)
    scale = top if top > 0 else 1.0
    plot_w, plot_h = _WIDTH - _LEFT - 8, _HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(len(points), 1)
    every = max(1, len(points) // 8)  # at most ~8 labels under the bars
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        "<style>.bar{fill:#3b6ea5}.grid{stroke:#ddd}.axis{font:11px sans-serif;fill:#555}</style>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{shown(scale * fraction, '.2f')}</text>"
        )
    for n, (label, value) in enumerate(points):
        height = plot_h * value / scale
        x = _LEFT + n * step + step * 0.15
        y = _TOP + plot_h - height
        tip = f"{escape(label)}: {shown(value, '.4f')} {escape(unit)}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" '
            f'class="bar"><title>{tip}</title></rect>'
        )
        if n % every == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{_HEIGHT - 10}" text-anchor="middle" '
                f'class="axis">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
