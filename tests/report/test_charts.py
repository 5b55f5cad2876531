"""Inline SVG bar charts: one bar per value, escaped labels, colours by category or level."""

from __future__ import annotations

import re

from iotwarden.report.charts import CATEGORY_COLOURS, LEVEL_COLOURS, bar_chart, colour


def test_one_bar_per_entry_with_value_and_escaped_label() -> None:
    svg = bar_chart("Devices by category", {"ot": 3, "<script>": 1, "none": 0}, chart_id="c1")
    bars = re.findall(r'<g class="bar" data-label="([^"]*)" data-value="(\d+)">', svg)
    assert bars == [("ot", "3"), ("&lt;script&gt;", "1"), ("none", "0")]
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[0] > widths[1] > widths[2] == 0
    assert "<script>" not in svg


def test_colours() -> None:
    assert colour("OT") == CATEGORY_COLOURS["ot"]
    assert colour("critical") == LEVEL_COLOURS["critical"]
    assert colour(None) == CATEGORY_COLOURS["unknown"]
    assert 'fill="#123456"' in bar_chart("t", {"x": 1}, chart_id="c", fill="#123456")
    assert "nothing to show" in bar_chart("t", {}, chart_id="c")
