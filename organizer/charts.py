"""Scales for the server-rendered SVG charts (templates/macros/charts.html)."""

from __future__ import annotations

from flask import Flask

STEPS = (1, 2, 5)


def nice_ticks(maximum: float, count: int = 4) -> list[int]:
    """Round gridline values from 0 to at least `maximum`, about `count` steps of 1, 2 or 5
    times a power of ten: 0, 5, 10, 15, 20 for 17; never an empty or zero-height scale."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 1
    while magnitude * 10 <= raw:
        magnitude *= 10
    step = next((s * magnitude for s in STEPS if s * magnitude >= raw), 10 * magnitude)
    step = max(int(step), 1)
    top = -(-int(maximum) // step) * step
    if top < maximum:
        top += step
    return list(range(0, top + 1, step))


def percent_ticks() -> list[float]:
    return [0.0, 0.25, 0.5, 0.75, 1.0]


def stacked_total(series: list[dict], index: int) -> float:
    """The height of one stacked bar: every series' value at `index`."""
    return sum(s["values"][index] for s in series)


def stacked_max(series: list[dict]) -> float:
    """The tallest stacked bar."""
    count = max((len(s["values"]) for s in series), default=0)
    return max((stacked_total(series, i) for i in range(count)), default=0)


def series_max(series: list[dict]) -> float:
    """The highest value of any line."""
    return max((v for s in series for v in s["values"]), default=0)


def init_app(app: Flask) -> None:
    """Make the scales available to templates/macros/charts.html."""
    app.jinja_env.globals.update(
        nice_ticks=nice_ticks,
        percent_ticks=percent_ticks,
        stacked_total=stacked_total,
        stacked_max=stacked_max,
        series_max=series_max,
    )
