"""Each measurement's trend as a small inline SVG, drawn on the server (no chart library;
the same values are listed beside it): the left/right ratio over time, 1 = symmetric, with the
toxin sessions and surgery marked."""

from __future__ import annotations

from datetime import date, timedelta

from .selectors import Trend

WIDTH, HEIGHT = 360, 120
LEFT, RIGHT, TOP, BOTTOM = 36, 10, 10, 22


def trend_charts(trend: Trend) -> list[dict]:
    if not trend.dates:
        return []
    days = trend.dates + [e.on for e in trend.events]
    start, end = min(days), max(days)
    if (end - start).days < 14:
        start, end = start - timedelta(days=7), end + timedelta(days=7)
    span = (end - start).days or 1

    def x_of(day: date) -> float:
        return round(LEFT + (day - start).days / span * (WIDTH - LEFT - RIGHT), 1)

    def y_of(value: float, low: float, high: float) -> float:
        share = (value - low) / (high - low) if high > low else 0.5
        return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)

    charts = []
    for series in trend.series:
        values = [(on, v.get("ratio", v.get("value"))) for on, _pk, v in series.rows]
        values = [(on, v) for on, v in values if v is not None]
        if not values:
            continue
        is_ratio = "ratio" in series.rows[0][2]
        low, high = (0.0, 1.0) if is_ratio else (0.0, max(1.0, max(v for _, v in values) * 1.2))
        points = [{"x": x_of(on), "y": y_of(v, low, high), "on": on, "value": v} for on, v in values]
        charts.append(
            {
                "id": f"trend-{series.key}",
                "series": series,
                "is_ratio": is_ratio,
                "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
                "points": points,
                "events": [
                    {"x": x_of(e.on), "kind": e.kind, "label": e.label, "on": e.on} for e in trend.events
                ],
                "y_ticks": [
                    {"y": y_of(low, low, high), "label": f"{low:g}"},
                    {"y": y_of(high, low, high), "label": f"{high:.3g}"},
                ],
                "start": start,
                "end": end,
                "width": WIDTH,
                "height": HEIGHT,
                "plot_left": LEFT,
                "plot_right": WIDTH - RIGHT,
                "plot_top": TOP,
                "plot_bottom": HEIGHT - BOTTOM,
                "label_y": HEIGHT - 6,
            }
        )
    return charts
