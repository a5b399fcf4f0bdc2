"""The console's line charts (`entrypoints.http.console.chart.line_chart`): where the points go,
an hour with nothing in it, a single spike, gaps, and text that is always escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from entrypoints.http.console.chart import HEIGHT, WIDTH, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    """The chart as XML (it must be well-formed to be drawn inline)."""
    return ET.fromstring(str(svg).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def lines(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]
        for line in parsed(svg).iter(f"{SVG}polyline")
    ]


def labels(svg: str) -> list[str]:
    return [t.text or "" for t in parsed(svg).iter(f"{SVG}text")]


def test_points_run_left_to_right_from_zero_at_the_floor_to_the_largest_at_the_top() -> None:
    svg = line_chart([0, 5, 10], title="Outbox lag", unit="s")

    [points] = lines(svg)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs[0] < xs[1] < xs[2] <= WIDTH
    assert ys[0] > ys[1] > ys[2] >= 0  # SVG's y grows downwards
    assert ys[0] - ys[1] == ys[1] - ys[2]  # evenly scaled
    assert max(ys) < HEIGHT
    assert labels(svg) == ["10 s", "0", "60 min ago", "now"]


def test_an_empty_hour_draws_the_axes_and_says_there_is_nothing() -> None:
    svg = line_chart([None] * 60, title="Outbox lag", unit="s")

    assert lines(svg) == []
    assert not list(parsed(svg).iter(f"{SVG}circle"))
    assert "nothing to show for this hour" in labels(svg)


def test_a_quiet_hour_of_zeros_is_a_flat_line_on_the_floor() -> None:
    [points] = lines(line_chart([0] * 60, title="Commands per minute"))

    assert len(points) == 60
    assert len({y for _, y in points}) == 1


def test_one_spike_sets_the_scale_and_reaches_the_top() -> None:
    svg = line_chart([0] * 59 + [120], title="Commands per minute")

    [points] = lines(svg)
    floor, top = points[0][1], points[-1][1]
    assert {y for _, y in points[:-1]} == {floor}
    assert top < floor
    assert top == min(float(g.get("y1", "0")) for g in parsed(svg).iter(f"{SVG}line"))
    assert labels(svg)[0] == "120"


def test_gaps_split_the_line_and_a_lone_value_is_a_dot() -> None:
    svg = line_chart([1, 2, None, 3, None, None, 4, 5], title="Outbox lag")

    assert [len(run) for run in lines(svg)] == [2, 2]
    assert len(list(parsed(svg).iter(f"{SVG}circle"))) == 1


def test_fractions_label_the_scale_readably() -> None:
    assert labels(line_chart([0.25, 0.1], title="t", unit="s"))[0] == "0.25 s"
    assert labels(line_chart([2.5], title="t", unit="s"))[0] == "2.5 s"


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'

    svg = line_chart([1, 2], title=hostile, unit=hostile, first=hostile, last="&now")

    assert "<script>" not in svg
    assert re.search(r"&lt;script&gt;", svg)
    root = parsed(svg)
    assert root.get("aria-label") == hostile
    assert labels(svg)[-1] == "&now"
