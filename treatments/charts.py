"""The grading trend as inline SVG, drawn on the server: no chart library, nothing for a strict
Content-Security-Policy to block, readable by screen readers (title, description, and the same
data as a table beside it)."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from .selectors import GradingTrend

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 34


@dataclass
class Chart:
    id: str
    title: str
    description: str
    better: str
    polyline: str
    points: list = field(default_factory=list)
    y_ticks: list = field(default_factory=list)
    x_ticks: list = field(default_factory=list)
    events: list = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    tick_x: int = LEFT - 6
    label_y: int = HEIGHT - 8


def _x_ticks(start: date, end: date, scale) -> list[dict]:
    """About five labelled dates: years for long spans, months for short ones."""
    span = (end - start).days
    ticks = []
    if span > 730:
        for year in range(start.year + 1, end.year + 1):
            tick = date(year, 1, 1)
            ticks.append({"x": scale(tick), "label": str(year)})
    else:
        step = max(1, round(span / 30 / 5))
        month = date(start.year, start.month, 1)
        while month <= end:
            if month >= start:
                ticks.append({"x": scale(month), "label": month.strftime("%b %Y")})
            for _ in range(step):
                month = date(month.year + (month.month // 12), month.month % 12 + 1, 1)
    return ticks


def trend_charts(trend: GradingTrend) -> list[Chart]:
    """One small chart per instrument on a shared time axis, treatment events marked on each."""
    if trend.is_empty:
        return []
    days = [p[0] for s in trend.series for p in s.points] + [e.on for e in trend.events]
    start, end = min(days), max(days)
    if (end - start).days < 30:
        start, end = start - timedelta(days=15), end + timedelta(days=15)
    span = (end - start).days
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x_of(day: date) -> float:
        return round(LEFT + (day - start).days / span * plot_width, 1)

    x_ticks = _x_ticks(start, end, x_of)
    # Toxin sessions: a small triangle under the axis; surgeries: a dashed line across the plot.
    marker_top = HEIGHT - BOTTOM + 2
    events = [
        {
            "x": x_of(e.on),
            "kind": e.kind,
            "label": f"{e.on:%d %b %Y}: {e.label}",
            "marker": f"M{x_of(e.on)},{marker_top} l-5,9 h10 z",
            "encounter_id": e.encounter_id,
        }
        for e in trend.events
    ]
    toxin = sum(1 for e in trend.events if e.kind == "toxin")
    surgery = sum(1 for e in trend.events if e.kind == "surgery")

    charts = []
    for series in trend.series:
        low, high = series.score.minimum, series.score.maximum

        def y_of(value, low=low, high=high) -> float:
            return round(TOP + (high - value) / (high - low) * plot_height, 1)

        points = [
            {
                "x": x_of(day),
                "y": y_of(value),
                "label": f"{day:%d %b %Y}: {series.score.label} {value}",
                "assessment_id": assessment.pk,
            }
            for day, value, assessment in series.points
        ]
        first, last = series.points[0], series.points[-1]
        description = (
            f"{series.instrument.name}, {series.score.label.lower()}: {len(points)} grading"
            f"{'s' if len(points) != 1 else ''}, from {first[1]} on {first[0]:%d %b %Y} to {last[1]} on "
            f"{last[0]:%d %b %Y}. Marked: {toxin} toxin session{'s' if toxin != 1 else ''}, "
            f"{surgery} surger{'ies' if surgery != 1 else 'y'}."
        )
        middle = (low + high) / 2
        charts.append(
            Chart(
                id=f"trend-{series.instrument.code}",
                title=f"{series.instrument.name}: {series.score.label.lower()}",
                description=description,
                better="higher is better" if series.instrument.higher_is_better else "lower is better",
                polyline=" ".join(f"{p['x']},{p['y']}" for p in points),
                points=points,
                y_ticks=[{"y": y_of(v), "label": f"{v:g}"} for v in (high, middle, low)],
                x_ticks=x_ticks,
                events=events,
            )
        )
    return charts
