"""Bar charts as SVG drawn on the server: no script, printable, nothing from another
host. Each chart is an image with a title (``role="img"``, ``aria-labelledby``); the
page puts its table beside it for screen readers and for the exact numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
BAR = 14
GAP = 10
LABEL = 190
#: At most this many groups drawn (the table holds them all).
MAX_BARS = 25
COLOURS = ("#0b6e5f", "#d98a1b", "#7a4fb5")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """Horizontal bars, one band per label, one bar per series, with a legend."""
    labels = list(labels)[:MAX_BARS]
    peak = max((v for s in series for v in s.values[: len(labels)]), default=0) or 1
    band = BAR * len(series) + GAP
    height = 40 + band * max(1, len(labels)) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-labelledby="{chart_id}-title"'
        f' data-testid="stats-chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for i, s in enumerate(series):
        x = LABEL + i * 160
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18}" y="19" font-size="13">{escape(s.name)}</text>')
    span = WIDTH - LABEL - 60
    for row, label in enumerate(labels):
        top = 36 + row * band
        parts.append(
            f'<text x="{LABEL - 8}" y="{top + BAR * len(series) / 2 + 4:.0f}" font-size="12"'
            f' text-anchor="end">{escape(label[:28])}</text>'
        )
        for i, s in enumerate(series):
            value = s.values[row] if row < len(s.values) else 0
            length = span * value / peak
            y = top + i * BAR
            colour = COLOURS[i % len(COLOURS)]
            parts.append(
                f'<rect class="bar" x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR - 2}"'
                f' fill="{colour}"><title>{escape(label)}: {value:g}</title></rect>'
            )
            parts.append(
                f'<text x="{LABEL + length + 4:.1f}" y="{y + BAR - 4}" font-size="11">'
                f"{value:g}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
