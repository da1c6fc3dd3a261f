"""Line charts as plain geometry for a server-rendered SVG (templates/_chart.html).

No inline style (the Content-Security-Policy forbids it): colours come from CSS classes and SVG
presentation attributes. Every chart carries a text summary for screen readers, and pages show
the numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 30, 8, 8, 22


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str  # for <polyline points="...">
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    summary: str
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_labels: tuple[tuple[float, str], ...]
    plot_left: int
    plot_right: int
    # Band thresholds drawn across the plot: (y, label), e.g. where "moderate" starts.
    thresholds: tuple[tuple[float, str], ...] = ()


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 250, 500, 1000, 10**6)
                if span / s <= 5)
    first = int(lo // step) * step
    return [v for v in (first + i * step for i in range(int(span // step) + 2)) if lo <= v <= hi]


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def line_chart(title: str, series: Sequence[Series], y_range: tuple[float, float] | None = None,
               date_format: str = "%d %b",
               thresholds: Sequence[tuple[float, str]] = ()) -> Chart | None:
    """None when there is nothing to draw. `thresholds`: (value, label) lines, e.g. the lowest
    score of each band after the first, labelled with that band."""
    every = [p for s in series for p in s.points]
    if not every:
        return None
    ys = [y for _, y in every]
    lo, hi = y_range if y_range else (min(ys), max(ys))
    lo, hi = min(lo, *ys), max(hi, *ys)
    if hi == lo:
        hi = lo + 1
    t0 = min(t for t, _ in every).timestamp()
    t1 = max(t for t, _ in every).timestamp()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(t: datetime) -> float:
        return round(LEFT + (plot_w / 2 if t1 == t0 else (t.timestamp() - t0) / (t1 - t0) * plot_w), 1)

    def sy(v: float) -> float:
        return round(TOP + plot_h - (v - lo) / (hi - lo) * plot_h, 1)

    lines = []
    for i, s in enumerate(series):
        pts = sorted(s.points)
        dots = tuple(Dot(sx(t), sy(v), f"{s.name} {_fmt(v)} on {t.strftime(date_format)}")
                     for t, v in pts)
        lines.append(Line(s.name, f"series-{i % 4}", " ".join(f"{d.x},{d.y}" for d in dots), dots))
    first, last = min(t for t, _ in every), max(t for t, _ in every)
    x_labels = [(float(LEFT), first.strftime(date_format))]
    if t1 != t0:
        x_labels.append((float(WIDTH - RIGHT), last.strftime(date_format)))
    parts = []
    for s in series:
        if s.points:
            vals = [v for _, v in sorted(s.points)]
            parts.append(f"{s.name}: {len(vals)} values from {_fmt(min(vals))} to {_fmt(max(vals))},"
                         f" latest {_fmt(vals[-1])}")
    summary = (f"{title}, {first.strftime(date_format)} to {last.strftime(date_format)}. "
               + "; ".join(parts) + ".")
    return Chart(title, summary, WIDTH, HEIGHT, tuple(lines),
                 tuple((sy(v), _fmt(v)) for v in _ticks(lo, hi)), tuple(x_labels),
                 LEFT, WIDTH - RIGHT,
                 tuple((sy(v), text) for v, text in thresholds if lo <= v <= hi))


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: float
    width: float
    text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    summary: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]


def bar_chart(title: str, rows: Sequence[tuple[str, float]], label_width: int = 150,
              bar_height: int = 16, gap: int = 8) -> BarChart | None:
    """Horizontal bars, one per row, scaled to the largest value."""
    if not rows:
        return None
    top = max((v for _, v in rows), default=0) or 1
    room = WIDTH - label_width - 40  # space left for the value written after the bar
    bars = tuple(Bar(label, value, i * (bar_height + gap), round(value / top * room, 1),
                     _fmt(value)) for i, (label, value) in enumerate(rows))
    summary = f"{title}: " + "; ".join(f"{b.label} {b.text}" for b in bars) + "."
    return BarChart(title, summary, WIDTH, len(rows) * (bar_height + gap), label_width,
                    bar_height, bars)
