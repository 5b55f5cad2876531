"""Inline SVG charts for the HTML report: horizontal bar charts, drawn in Python, no script needed."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

BAR_HEIGHT = 22  # pixels per bar
LABEL_WIDTH = 150  # pixels for the labels left of the bars
VALUE_WIDTH = 48  # pixels for the value right of the bar

# colours per category, risk band and severity (shared with the map's legend)
CATEGORY_COLOURS = {
    "iot": "#2a9d8f", "ot": "#e76f51", "it": "#457b9d", "network": "#8d99ae", "medical": "#d62828",
    "building": "#f4a261", "internet": "#adb5bd", "unknown": "#ced4da",
}
LEVEL_COLOURS = {
    "critical": "#9d0208", "high": "#dc2f02", "medium": "#f48c06", "low": "#ffba08", "info": "#90be6d",
    "none": "#90be6d",
}
DEFAULT_COLOUR = "#6c757d"


def colour(name: str | None) -> str:
    key = (name or "unknown").lower()
    return CATEGORY_COLOURS.get(key) or LEVEL_COLOURS.get(key) or DEFAULT_COLOUR


def bar_chart(title: str, counts: Mapping[str, int], *, chart_id: str, width: int = 460,
              fill: str | None = None) -> str:
    """An SVG bar chart of ``counts`` (in the given order), each bar with a hover title; bars take
    ``fill``, or the colour of their label (category, band, severity)."""
    rows = list(counts.items())
    top = max((v for _, v in rows), default=0) or 1
    height = BAR_HEIGHT * max(1, len(rows)) + 30
    span = width - LABEL_WIDTH - VALUE_WIDTH
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<text class="chart-title" x="0" y="16">{escape(title)}</text>']
    for i, (name, value) in enumerate(rows):
        y = 26 + i * BAR_HEIGHT
        w = 0 if value == 0 else max(2, round(span * value / top))
        parts.append(
            f'<g class="bar" data-label="{escape(name)}" data-value="{value}">'
            f'<title>{escape(name)}: {value}</title>'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{w}" height="{BAR_HEIGHT - 6}" rx="3" '
            f'fill="{fill or colour(name)}"/>'
            f'<text x="{LABEL_WIDTH + w + 6}" y="{y + 15}">{value}</text></g>')
    if not rows:
        parts.append('<text x="0" y="44">nothing to show</text>')
    parts.append("</svg>")
    return "".join(parts)
