"""Charts drawn on the server as SVG: columns and lines over time, horizontal bars for categories.

No script and nothing inline for the Content-Security-Policy to refuse: colours, strokes and fonts
come from classes styled in static/css/lobby.css (`.chart ...`, `.tone-0`...), the geometry from SVG
attributes. Every chart is an <svg role="img"> named by its <title> and described by its <desc>, and
every mark carries its own <title> ("Mar 3 · Deals: 4"), so a screen reader and a hovering pointer
get the numbers; the table behind the chart is on the page next to it.

Text never overlaps: the width of each label is estimated (CJK characters are one em, Latin ones
about 0.6 em), day labels are thinned to every second, third... day when they would touch, long
category names are cut with an ellipsis (the full name stays in the mark's <title>), and a value is
written over a column or a point only where it fits.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
FONT = 12  # labels, in px (the SVG is drawn at its own size: one unit is one pixel)
PERCENT_TICKS = [0, 25, 50, 75, 100]


@dataclass
class Series:
    """One named row of values (None: nothing to draw there, e.g. a rate where nobody was seen)."""

    name: str
    values: list[float | None]
    tone: str | None = None  # a CSS class (tone-0 ... tone-5, tone-soft); by position when None


def text_width(text: str, size: float = FONT) -> float:
    """An estimate of the drawn width of `text` in px, a little generous."""
    width = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            width += size
        elif ch in "il.,:;|!' ":
            width += size * 0.32
        elif ch.isdigit():
            width += size * 0.56
        else:
            width += size * 0.62
    return width


def fit(text: str, room: float, size: float = FONT) -> str:
    """`text`, cut with an ellipsis so that it fits in `room` px."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def ticks(top: float | None, *, percent: bool = False, count: int = 4) -> list[float]:
    """Round steps (1, 2, 5 × 10ⁿ) from 0 to at least `top`; 0–100 for percentages."""
    if percent:
        return PERCENT_TICKS
    if not top or top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)  # counts of people: whole steps
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return text + ("%" if percent else "")


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x, y, text, cls="", anchor="start", title=None) -> str:
    inner = escape(text) + (f"<title>{escape(title)}</title>" if title else "")
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" class="{cls}">{inner}</text>'


def _tone(series: Series, index: int) -> str:
    return series.tone or f"tone-{index % 6}"


def _legend(series: list[Series], x0: float, y: float, width: float) -> tuple[list[str], float]:
    """Swatches and names, left to right, wrapping; returns the marks and the height used."""
    marks, x, row = [], x0, 0
    for i, s in enumerate(series):
        room = 14 + text_width(s.name) + 18
        if x > x0 and x + room > x0 + width:
            x, row = x0, row + 1
        top = y + row * 20
        marks.append(f'<rect x="{_n(x)}" y="{_n(top - 9)}" width="10" height="10" rx="2" '
                     f'class="swatch {_tone(s, i)}"/>')
        marks.append(_text(x + 14, top, s.name, "legend"))
        x += room
    return marks, (row + 1) * 20 + 6


def _frame(key: str, title: str, desc: str, width: int, height: float, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {_n(height)}" width="{width}" height="{_n(height)}" '
        f'role="img" aria-labelledby="{key}-title {key}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _time_axes(labels: list[str], series: list[Series], percent: bool, width: int, height: int, legend: bool,
               room_above: int = 0):
    """The frame shared by columns and lines: scale, gridlines, y ticks, thinned x labels; `room_above`
    the plot for values written over its highest marks."""
    top_value = max((v for s in series for v in s.values if v is not None), default=0)
    steps = ticks(top_value, percent=percent)
    if percent and height < 200:
        steps = steps[::2]  # a small panel: 0, 50, 100%
    body: list[str] = []
    top = 14 + room_above
    if legend:
        marks, used = _legend(series, 8, 16, width - 16)
        body += marks
        top += used
    left = max(text_width(number(t, percent), 11) for t in steps) + 14
    right, bottom = 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(labels), 1)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - value / steps[-1])

    for t in steps:
        body.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(y_of(t))}" y2="{_n(y_of(t))}" '
                    f'class="{"axis" if t == 0 else "grid"}"/>')
        body.append(_text(left - 8, y_of(t) + 4, number(t, percent), "tick", "end"))
    every = label_step([text_width(label, 11) for label in labels], slot)
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_text(left + slot * (i + 0.5), height - bottom + 18, label, "tick", "middle"))
    return body, left, slot, y_of, top


def label_step(widths: list[float], slot: float, gap: float = 6) -> int:
    """Label every n-th slot, the smallest n for which no two neighbouring labels (centred on their
    slots) come closer than `gap`."""
    for every in range(1, len(widths) + 1):
        shown = widths[::every]
        if all((a + b) / 2 + gap <= every * slot for a, b in zip(shown, shown[1:])):
            return every
    return max(len(widths), 1)


def columns(key: str, labels: list[str], series: list[Series], *, title: str, desc: str,
            percent: bool = False, width: int = WIDTH, height: int = 260,
            names: list[str] | None = None) -> Markup:
    """Grouped columns, one group per label (a day, a week), one column per series. `names`: what
    each mark's <title> calls its period, when the axis label is short ("26" for "Feb 26")."""
    names = names or labels
    body, left, slot, y_of, _top = _time_axes(labels, series, percent, width, height, legend=len(series) > 1)
    group = min(slot * 0.74, 40 * len(series))  # a few wide periods: calm columns, not slabs
    each = group / max(len(series), 1)
    bar = max(each - (2 if len(series) > 1 else 0), 1)
    for j, s in enumerate(series):
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = left + slot * i + (slot - group) / 2 + each * j
            y = y_of(value)
            base = y_of(0)
            tip = f"{names[i]} · {s.name}: {number(value, percent)}"
            body.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(base - y)}" rx="2" '
                        f'class="mark column {_tone(s, j)}"><title>{escape(tip)}</title></rect>')
            shown = number(value, percent)
            if value and text_width(shown, 11) + 2 <= bar + 6:
                body.append(_text(x + bar / 2, y - 5, shown, "value", "middle"))
    return _frame(key, title, desc, width, height, body)


def lines(key: str, labels: list[str], series: list[Series], *, title: str, desc: str,
          percent: bool = True, width: int = WIDTH, height: int = 260, values: bool | None = None,
          names: list[str] | None = None, reference: float | None = None) -> Markup:
    """A line per series through its points; a None breaks the line. Values are written at the
    points of a single series when there is room (`values`=False never, True wherever they fit).
    `reference`: a dashed level to compare with (the whole clinic's rate, say)."""
    names = names or labels
    write = (len(series) == 1) if values is None else values
    body, left, slot, y_of, top = _time_axes(labels, series, percent, width, height, legend=len(series) > 1,
                                             room_above=10 if write else 0)
    if reference is not None:
        body.append(f'<line x1="{_n(left)}" x2="{_n(left + slot * len(labels))}" y1="{_n(y_of(reference))}" '
                    f'y2="{_n(y_of(reference))}" class="reference"/>')
    for j, s in enumerate(series):
        tone = _tone(s, j)
        points = [(left + slot * (i + 0.5), y_of(v), v, i) for i, v in enumerate(s.values) if v is not None]
        path, previous = [], None
        for x, y, _v, i in points:
            path.append(("L" if previous == i - 1 else "M") + f"{_n(x)} {_n(y)}")
            previous = i
        if path:
            body.append(f'<path d="{" ".join(path)}" class="trace {tone}"/>')
        heights = {i: y for _x, y, _v, i in points}
        for x, y, v, i in points:
            tip = f"{names[i]} · {s.name}: {number(v, percent)}"
            body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" class="mark point {tone}">'
                        f"<title>{escape(tip)}</title></circle>")
            shown = number(v, percent)
            if write and text_width(shown, 11) + 6 <= slot:
                # Above a peak, below a valley: never on the line that comes in and goes out. A valley
                # on the axis keeps its value to its <title> (the axis says 0, the day's label is below).
                around = [heights[k] for k in (i - 1, i + 1) if k in heights]
                above = not around or y <= sum(around) / len(around)
                if above:
                    body.append(_text(x, y - 9, shown, "value", "middle"))
                elif y + 18 <= y_of(0) - 2:
                    body.append(_text(x, y + 18, shown, "value", "middle"))
    return _frame(key, title, desc, width, height, body)


def bars(key: str, categories: list[str], series: list[Series], *, title: str, desc: str,
         percent: bool = False, notes: list[str] | None = None, width: int = WIDTH) -> Markup:
    """Horizontal bars, one row per category (a consultant, a channel...), one bar per series; a note
    (e.g. "21 / 28") after each row's last bar."""
    notes = notes or []
    body: list[str] = []
    top = 10
    if len(series) > 1:
        marks, used = _legend(series, 8, 16, width - 16)
        body += marks
        top += used
    label_w = min(max((text_width(c) for c in categories), default=0), width * 0.3)
    note_w = max((text_width(n, 11) for n in notes), default=0)
    left = label_w + 20
    right = note_w + 20
    steps = ticks(max((v for s in series for v in s.values if v is not None), default=0), percent=percent)
    bar_h = 18 if len(series) == 1 else 13
    row_h = bar_h * len(series) + 14
    plot_w = width - left - right
    height = top + row_h * len(categories) + 30

    def x_of(value: float) -> float:
        return left + plot_w * value / steps[-1]

    bottom = top + row_h * len(categories)
    for t in steps:
        body.append(f'<line x1="{_n(x_of(t))}" x2="{_n(x_of(t))}" y1="{_n(top)}" y2="{_n(bottom)}" '
                    f'class="{"axis" if t == 0 else "grid"}"/>')
        body.append(_text(x_of(t), bottom + 18, number(t, percent), "tick", "middle"))
    for i, category in enumerate(categories):
        row_top = top + row_h * i + 7
        body.append(_text(left - 10, row_top + bar_h * len(series) / 2 + 4, fit(category, label_w), "label",
                          "end", title=category if fit(category, label_w) != category else None))
        end = left
        for j, s in enumerate(series):
            value = s.values[i]
            y = row_top + bar_h * j
            if value is not None:
                tip = f"{category} · {s.name}: {number(value, percent)}"
                body.append(f'<rect x="{_n(left)}" y="{_n(y)}" width="{_n(max(x_of(value) - left, 0))}" '
                            f'height="{_n(bar_h - 2)}" rx="3" class="mark hbar {_tone(s, j)}">'
                            f"<title>{escape(tip)}</title></rect>")
                end = max(end, x_of(value))
        if i < len(notes) and notes[i]:
            body.append(_text(end + 8, row_top + bar_h * len(series) / 2 + 4, notes[i], "note"))
    return _frame(key, title, desc, width, height, body)
