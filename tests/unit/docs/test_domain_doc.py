"""docs/domain.md shows the transition tables exactly as the code has them."""

from __future__ import annotations

from pathlib import Path

from tests.unit.docs.transition_tables import render_all

DOC = Path(__file__).resolve().parents[3] / "docs" / "domain.md"
BEGIN, END = "<!-- tables:begin -->", "<!-- tables:end -->"


def test_the_documented_transition_tables_match_the_code() -> None:
    text = DOC.read_text()
    documented = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert documented == render_all().strip(), (
        "regenerate with: .venv/bin/python -m tests.unit.docs.transition_tables"
    )
