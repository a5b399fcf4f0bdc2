"""Log lines for people at a terminal, JSON for pipelines, `LOG_FORMAT` over both; each line
names its process."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from entrypoints.logs import configure_logging, log_format


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def test_text_at_a_terminal_json_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", Terminal())
    assert log_format(None) == "TEXT"
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert log_format(None) == "JSON"


def test_log_format_wins_over_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", Terminal())
    assert log_format("JSON") == "JSON"
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert log_format("text") == "TEXT"


def _logged(fmt: str, monkeypatch: pytest.MonkeyPatch) -> str:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    configure_logging("INFO", fmt, process="relay")
    logging.getLogger("orderhub.test").info("relayed %d events", 3)
    logging.getLogger("dramatiq.worker").warning("a library speaks")
    return stderr.getvalue()


def test_every_json_line_names_its_process(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.loads(line) for line in _logged("JSON", monkeypatch).splitlines()]
    assert [line["event"] for line in lines] == ["relayed 3 events", "a library speaks"]
    assert {line["process"] for line in lines} == {"relay"}


def test_every_text_line_names_its_process(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _logged("TEXT", monkeypatch).splitlines()
    assert len(lines) == 2
    assert all("process=relay" in line for line in lines), lines
    assert "relayed 3 events" in lines[0]
