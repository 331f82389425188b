"""Inline SVG charts for the HTML report: plain strings, no script, nothing loaded.

The report must open anywhere, offline and under a CSP that forbids scripts, so the charts are
drawn here as static SVG. Output is deterministic (fixed geometry, coordinates rounded to one
decimal) so a report renders byte-for-byte the same from the same records, and every label is
XML-escaped because topic titles and user names come from data files and users.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from html import escape

from interviewer.grading.scoring import MAX_SCORE
from interviewer.labels import score_band

WIDTH = 720
BAR_ROW = 26
LABEL_W = 250
VALUE_W = 48
MAX_TICKS = 6
_DAY = 86400.0


def _esc(text: object) -> str:
    """Safe inside SVG text and attribute values (html.escape's entities are valid XML)."""
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing '.0', so output is short and stable."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _clip(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _label_lines(label: str, width: int = 34) -> list[str]:
    """A bar's label on one line, or two broken at a space (topic titles run to 60 characters;
    cutting "Classic machine learning algori…" hid which topic it was)."""
    if len(label) <= width:
        return [label]
    cut = label.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else width
    return [label[:cut].rstrip(), _clip(label[cut:].strip(), width)]


def _open(width: int, height: int, title: str, css: str) -> list[str]:
    return [
        f'<svg class="chart {css}" role="img" aria-label="{_esc(title)}"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{_esc(title)}</title>",
    ]


def _empty(title: str, css: str, message: str) -> str:
    parts = _open(WIDTH, 60, title, css)
    parts.append(f'<text class="empty" x="{WIDTH // 2}" y="34" text-anchor="middle">{_esc(message)}</text>')
    return "".join(parts) + "</svg>"


def bar_chart(items: Sequence[tuple[str, float]], *, max_value: float = 10, title: str = "Average score by topic") -> str:
    """Horizontal bars, one per (label, value), in the order given; values clamp to 0..max_value."""
    if not items:
        return _empty(title, "bars", "No graded answers yet")
    top = 24
    labels = [_label_lines(label) for label, _ in items]
    row = BAR_ROW + 12 if any(len(lines) > 1 for lines in labels) else BAR_ROW  # room for two-line labels
    height = top + row * len(items) + 22
    plot_x = LABEL_W
    plot_w = WIDTH - LABEL_W - VALUE_W
    parts = _open(WIDTH, height, title, "bars")
    bottom = top + row * len(items)
    for k in range(5):  # grid at 0, 1/4, ... of max_value
        value = max_value * k / 4
        x = plot_x + plot_w * k / 4
        parts.append(f'<line class="grid" x1="{_n(x)}" y1="{top - 4}" x2="{_n(x)}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{_n(x)}" y="{bottom + 15}" text-anchor="middle">{_n(value)}</text>')
    for i, (label, value) in enumerate(items):
        shown = min(max(float(value), 0.0), float(max_value))
        y = top + row * i
        middle = y + (row - BAR_ROW) / 2  # the bar and its value sit in the middle of the row
        w = plot_w * shown / max_value if max_value else 0.0
        band = score_band(MAX_SCORE * shown / max_value) if max_value else "low"  # the badges' bands, on a 0-10 scale
        first = middle + 17 - 7 * (len(labels[i]) - 1)
        text = "".join(f'<tspan x="{plot_x - 8}" y="{_n(first + 14 * k)}">{_esc(line)}</tspan>' for k, line in enumerate(labels[i]))
        parts.append(
            f'<g class="row"><title>{_esc(label)}: {value:.1f} of {_n(max_value)}</title>'
            f'<text class="label" x="{plot_x - 8}" y="{_n(first)}" text-anchor="end">{text}</text>'
            f'<rect class="bar {band}" x="{plot_x}" y="{_n(middle + 5)}" width="{_n(max(w, 1.5))}" height="{BAR_ROW - 10}" rx="3"/>'
            f'<text class="value" x="{_n(plot_x + w + 6)}" y="{_n(middle + 17)}">{value:.1f}</text></g>'
        )
    return "".join(parts) + "</svg>"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# (unit, count, approximate seconds): the first whose tick count fits MAX_TICKS is used
_STEPS = (
    [("minutes", m, m * 60.0) for m in (1, 2, 5, 10, 15, 30)]
    + [("hours", h, h * 3600.0) for h in (1, 2, 3, 6, 12)]
    + [("days", d, d * _DAY) for d in (1, 2, 7, 14)]
    + [("months", m, m * 30.44 * _DAY) for m in (1, 2, 3, 6, 12, 24, 60)]
)


def _floor(moment: datetime, unit: str, every: int, seconds: float) -> datetime:
    """The last round boundary at or before ``moment`` (weeks start on Monday)."""
    if unit == "months":
        index = moment.year * 12 + moment.month - 1
        index -= index % every
        return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)
    offset = 4 * _DAY if (unit, every) == ("days", 7) else 0.0  # 1970-01-05 was a Monday
    elapsed = (moment - _EPOCH).total_seconds() - offset
    return _EPOCH + timedelta(seconds=elapsed // seconds * seconds + offset)


def _after(tick: datetime, unit: str, every: int, seconds: float) -> datetime:
    if unit == "months":
        index = tick.year * 12 + tick.month - 1 + every
        return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)
    return tick + timedelta(seconds=seconds)


def _axis(start: datetime, end: datetime) -> tuple[datetime, list[tuple[datetime, str]]]:
    """Where the time axis starts, and its ticks on round boundaries (minutes, hours, days,
    Mondays, months). The axis starts on the boundary before the first point when that costs
    little room, so the first point has a date under it."""
    span = (end - start).total_seconds()
    if span <= 0:
        return start, [(start, f"{start.day} {start:%b %Y}")]
    unit, every, seconds = next((s for s in _STEPS if span / s[2] <= MAX_TICKS), _STEPS[-1])
    tick = _floor(start, unit, every, seconds)
    lo = tick if (start - tick).total_seconds() <= 0.15 * span else start
    if tick < lo:
        tick = _after(tick, unit, every, seconds)
    ticks = []
    while tick <= end:
        ticks.append(tick)
        tick = _after(tick, unit, every, seconds)
    if unit == "months":
        return lo, [(t, f"{t:%b %Y}") for t in ticks]
    if unit == "days":
        return lo, [(t, f"{t.day} {t:%b}") for t in ticks]
    return lo, [(t, f"{t:%H:%M}" if span < 18 * 3600 else f"{t.day} {t:%b %H:%M}") for t in ticks]


def _score_axes(parts: list[str], y_of, max_value: float, left: int, right: int, top: int, plot_h: int) -> float:
    """The score grid, its ticks and both axis lines; returns the y of the baseline."""
    for k in range(6):
        value = max_value * k / 5
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{_n(y)}" x2="{WIDTH - right}" y2="{_n(y)}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{_n(y + 4)}" text-anchor="end">{_n(value)}</text>')
    base = top + plot_h
    parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{base}"/>')
    parts.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}"/>')
    return base


def question_chart(scores: Sequence[tuple[str, float]], *, max_value: float = 10, title: str = "Score per question") -> str:
    """Scores in the order the questions were asked, evenly spaced: Q1, Q2, ... (a pause between
    two questions must not squeeze the others together, as a time axis did)."""
    if not scores:
        return _empty(title, "line", "No graded answers yet")
    height, left, right, top, bottom = 260, 44, 20, 16, 34
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    inset = 24.0

    def x_of(index: int) -> float:
        return left + plot_w / 2 if len(scores) == 1 else left + inset + (plot_w - 2 * inset) * index / (len(scores) - 1)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - min(max(value, 0.0), max_value) / max_value) if max_value else top + plot_h

    parts = _open(WIDTH, height, title, "line")
    base = _score_axes(parts, y_of, max_value, left, right, top, plot_h)
    every = max(1, -(-len(scores) // 20))  # at most about 20 labels under the axis
    coords = [(x_of(i), y_of(float(v))) for i, (_, v) in enumerate(scores)]
    for i, (x, _) in enumerate(coords):
        if i % every == 0 or i == len(scores) - 1:
            parts.append(f'<text class="tick" x="{_n(x)}" y="{base + 18}" text-anchor="middle">Q{i + 1}</text>')
    if len(coords) > 1:
        parts.append('<polyline class="trend" points="' + " ".join(f"{_n(x)},{_n(y)}" for x, y in coords) + '"/>')
    for i, ((label, value), (x, y)) in enumerate(zip(scores, coords)):
        parts.append(f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="4"><title>Q{i + 1} {_esc(_clip(label, 80))}: '
                     f"{float(value):.1f}</title></circle>")
    return "".join(parts) + "</svg>"


def line_chart(
    points: Sequence[tuple[datetime, float]], *, max_value: float = 10, title: str = "Score over time"
) -> str:
    """Scores against time: axes, date ticks, a line and a dot per point; any number of points."""
    if not points:
        return _empty(title, "line", "No graded sessions yet")
    data = sorted(((_utc(t), float(v)) for t, v in points), key=lambda p: p[0])
    height, left, right, top, bottom = 260, 44, 20, 16, 34
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    end = data[-1][0]
    start, ticks = _axis(data[0][0], end)
    span = (end - start).total_seconds()
    inset = 10.0

    def x_of(moment: datetime) -> float:
        if span <= 0:
            return left + plot_w / 2
        return left + inset + (plot_w - 2 * inset) * (moment - start).total_seconds() / span

    def y_of(value: float) -> float:
        shown = min(max(value, 0.0), max_value)
        return top + plot_h * (1 - shown / max_value) if max_value else top + plot_h

    parts = _open(WIDTH, height, title, "line")
    base = _score_axes(parts, y_of, max_value, left, right, top, plot_h)
    for moment, label in ticks:
        x = x_of(moment)
        parts.append(f'<line class="axis" x1="{_n(x)}" y1="{base}" x2="{_n(x)}" y2="{base + 4}"/>')
        parts.append(f'<text class="tick" x="{_n(x)}" y="{base + 18}" text-anchor="middle">{_esc(label)}</text>')
    coords = [(x_of(t), y_of(v)) for t, v in data]
    if len(coords) > 1:
        parts.append('<polyline class="trend" points="' + " ".join(f"{_n(x)},{_n(y)}" for x, y in coords) + '"/>')
    radius = 4 if len(data) <= 60 else 2.5 if len(data) <= 300 else 1.6
    for (moment, value), (x, y) in zip(data, coords):
        parts.append(
            f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="{radius}">'
            f"<title>{moment:%Y-%m-%d %H:%M} UTC: {value:.1f}</title></circle>"
        )
    return "".join(parts) + "</svg>"

