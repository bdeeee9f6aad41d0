"""The SVG chart macros (templates/macros/charts.html) and their scales (organizer/charts.py)."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from flask_babel import refresh

from organizer.charts import nice_ticks, series_max, stacked_max, stacked_total

BAR = """{% from "macros/charts.html" import bar_chart, line_chart with context %}
{{ bar_chart("c", "Sign-ups", "What it shows", labels, series, "Week", percent=percent) }}
{{ line_chart("l", "Readers", "Over time", labels, series[:1], "Week") }}"""


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (17, [0, 5, 10, 15, 20]),
        (20, [0, 5, 10, 15, 20]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_nice_ticks_cover_the_maximum_in_round_steps(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_stacked_and_line_maxima():
    series = [{"values": [1, 4, 2]}, {"values": [3, 0, 5]}]
    assert [stacked_total(series, i) for i in range(3)] == [4, 4, 7]
    assert stacked_max(series) == 7 and series_max(series) == 5
    assert stacked_max([]) == 0 and series_max([]) == 0


def _render(app, lang: str, values_a, values_b, percent=False) -> str:
    labels = [f"W{i}" for i in range(len(values_a))]
    series = [
        {"name": "New", "class": "chart-a", "values": values_a},
        {"name": "Returning", "class": "chart-b", "values": values_b},
    ]
    with app.test_request_context(f"/?lang={lang}"):
        refresh()  # the test's app context is shared: forget the last render's language
        return render_template_string(BAR, labels=labels, series=series, percent=percent)


def test_stacked_bars_heights_and_table(app):
    html = _render(app, "en", [1, 0, 3], [1, 2, 1])
    bars = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', html)
    assert len(bars) == 5  # zero values draw nothing
    heights = [float(h) for _x, _y, h in bars]
    # Scale 0–4: a value of 1 is a quarter of the 186-unit plot, 3 three quarters.
    assert heights[0] == pytest.approx(186 / 4, abs=0.1)
    assert max(heights) == pytest.approx(186 * 3 / 4, abs=0.1)
    table = re.search(r"<details.*?</details>", html, re.S).group(0)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(W\d)</th>(.*?)</tr>", table, re.S)
    assert [(label, re.findall(r"<td>(\d+)</td>", cells)) for label, cells in rows] == [
        ("W0", ["1", "1", "2"]),
        ("W1", ["0", "2", "2"]),
        ("W2", ["3", "1", "4"]),
    ]
    assert '<title id="c-title">Sign-ups</title>' in html
    assert '<desc id="c-desc">What it shows</desc>' in html


def test_nothing_to_show_draws_an_empty_scale_not_an_error(app):
    html = _render(app, "en", [0, 0], [0, 0])
    assert "<rect" not in html and "<polyline" in html
    assert ">0</text>" in html and ">1</text>" in html


def test_percentages_on_a_fixed_scale(app):
    html = _render(app, "en", [0.5, 1.0], [0, 0], percent=True)
    assert ">100%</text>" in html and ">50%</text>" in html and "<td>50%</td>" in html


def test_numbers_in_the_readers_language(app):
    html = _render(app, "en", [1500, 0], [0, 0])
    assert ">1,500</text>" in html or "<td>1,500</td>" in html


def test_mirrored_right_to_left(app):
    def first_and_last_x(html: str, tag: str) -> tuple[float, float]:
        xs = [float(x) for x in re.findall(rf'<{tag} c?x="([\d.]+)"', html)]
        return xs[0], xs[-1]

    ltr = _render(app, "en", [1, 2, 3], [1, 1, 1])
    rtl = _render(app, "ar", [1, 2, 3], [1, 1, 1])
    start, end = first_and_last_x(ltr, "circle")
    assert start < end  # the first value on the left
    start, end = first_and_last_x(rtl, "circle")
    assert start > end  # ... and on the right in Arabic
    assert 'direction="rtl"' in rtl and 'direction="rtl"' not in ltr.replace('"ltr"', "")
