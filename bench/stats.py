"""Median, min and max over repeated runs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def mmm(values: Iterable[float]) -> dict[str, float]:
    """{median, min, max} of the values (rounded for the report)."""
    xs = [float(v) for v in values]
    if not xs:
        return {}
    return {
        "median": round(statistics.median(xs), 2),
        "min": round(min(xs), 2),
        "max": round(max(xs), 2),
    }


def summarize(
    runs: Sequence[Mapping[str, Any]], fields: Iterable[str]
) -> dict[str, dict[str, float]]:
    return {f: mmm(r[f] for r in runs if r.get(f) is not None) for f in fields}


def fmt(m: Mapping[str, float], unit: str = "", digits: int = 1) -> str:
    """`median (min–max)`."""
    if not m:
        return "n/a"
    return f"{m['median']:,.{digits}f}{unit} ({m['min']:,.{digits}f}–{m['max']:,.{digits}f})"
