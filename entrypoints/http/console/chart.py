"""Small line charts for console pages, drawn on the server as inline SVG: no script, no image
request, nothing the page's security policy forbids (colours come from console.css classes).

Every text is escaped here and every number formatted here, so the result is safe to put in a
template as it is (`Markup`)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

#: Drawing size in SVG units (the stylesheet scales it to the column's width).
WIDTH, HEIGHT = 600, 140
#: Room for the value labels on the left, the time labels below, half a line above.
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 10, 22


def line_chart(
    values: Sequence[float | None],
    *,
    title: str,
    unit: str = "",
    first: str = "60 min ago",
    last: str = "now",
) -> Markup:
    """`values` oldest first, evenly spaced, as one line from `first` (left) to `last` (right);
    a None is a gap in the line, and a value alone between gaps a dot. The value axis runs from 0
    to the largest value, both labelled (with `unit`)."""
    known = [v for v in values if v is not None]
    top = max(known, default=0.0)
    scale = top if top > 0 else 1.0
    x_step = (WIDTH - _LEFT - _RIGHT) / max(len(values) - 1, 1)
    floor = HEIGHT - _BOTTOM

    def point(i: int, value: float) -> tuple[float, float]:
        return _LEFT + i * x_step, floor - (value / scale) * (floor - _TOP)

    marks = []
    for run in _runs(values):
        points = [point(i, v) for i, v in run]
        if len(points) == 1:
            (x, y) = points[0]
            marks.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
        else:
            drawn = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            marks.append(f'<polyline class="line" points="{drawn}"/>')
    if not known:
        middle = (_LEFT + WIDTH - _RIGHT) / 2
        marks.append(
            f'<text class="empty" x="{middle:.1f}" y="{(_TOP + floor) / 2:.1f}" '
            'text-anchor="middle">nothing to show for this hour</text>'
        )
    suffix = f" {unit}" if unit else ""
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        f'<line class="grid" x1="{_LEFT}" y1="{_TOP}" x2="{WIDTH - _RIGHT}" y2="{_TOP}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{floor}" x2="{WIDTH - _RIGHT}" y2="{floor}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{floor}"/>',
        f'<text class="label" x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end">'
        f"{escape(_number(top) + suffix)}</text>",
        f'<text class="label" x="{_LEFT - 6}" y="{floor}" text-anchor="end">0</text>',
        f'<text class="label" x="{_LEFT}" y="{HEIGHT - 6}" text-anchor="start">{escape(first)}</text>',
        f'<text class="label" x="{WIDTH - _RIGHT}" y="{HEIGHT - 6}" text-anchor="end">'
        f"{escape(last)}</text>",
        *marks,
        "</svg>",
    ]
    return Markup("".join(parts))


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The stretches of values between gaps, each as (position, value)."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


def _number(value: float) -> str:
    """`12`, `340`, `2.5`, `0.25`: a scale's label, not a measurement to quote."""
    if value == int(value):
        return str(int(value))
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}" if value < 1 else f"{value:.1f}"
