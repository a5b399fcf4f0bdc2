"""Every process logs one line per record, with the correlation id of the work in hand and its
process's name: text for people at a terminal, JSON for pipelines, `LOG_FORMAT` over both."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from entrypoints.logs import configure_logging, log_format
from ports.correlation import correlated


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_a_log_line_is_a_json_object_with_the_correlation_id(
    restored_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "JSON")
    log = logging.getLogger("orderhub.test")
    with correlated("corr-42"):
        log.warning("ERP %s answered %d", "booking", 503, extra={"order_id": "o-1"})
    log.warning("outside any work")
    log.debug("below the level")

    first, second = lines(capfd.readouterr().err)
    assert first["event"] == "ERP booking answered 503"
    assert (first["level"], first["logger"], first["correlation_id"], first["order_id"]) == (
        "warning", "orderhub.test", "corr-42", "o-1",
    )  # fmt: skip
    assert str(first["timestamp"]).endswith("Z")
    assert "correlation_id" not in second


def test_an_exception_is_logged_with_its_traceback_in_the_object(
    restored_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "JSON")
    try:
        raise ValueError("bad payload")
    except ValueError:
        logging.getLogger("orderhub.test").exception("consumer failed")
    [line] = lines(capfd.readouterr().err)
    assert "ValueError: bad payload" in str(line["exception"])


def test_configuring_twice_does_not_double_every_line(
    restored_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "JSON")
    configure_logging("INFO", "TEXT")
    logging.getLogger("orderhub.test").warning("once")
    err = capfd.readouterr().err
    assert err.count("once") == 1  # one handler
    assert not lines(err)  # and text now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_at_a_terminal_json_otherwise() -> None:
    assert log_format(None, Terminal()) == "TEXT"
    assert log_format(None, io.StringIO()) == "JSON"


def test_log_format_wins_over_the_terminal() -> None:
    assert log_format("JSON", Terminal()) == "JSON"
    assert log_format("text", io.StringIO()) == "TEXT"


def _logged(fmt: str) -> str:
    stream = io.StringIO()
    configure_logging("INFO", fmt, process="relay", stream=stream)
    logging.getLogger("orderhub.test").info("relayed %d events", 3)
    logging.getLogger("dramatiq.worker").warning("a library speaks")
    return stream.getvalue()


def test_every_json_line_names_its_process(restored_logging: None) -> None:
    logged = [json.loads(line) for line in _logged("JSON").splitlines()]
    assert [line["event"] for line in logged] == ["relayed 3 events", "a library speaks"]
    assert {line["process"] for line in logged} == {"relay"}


def test_every_text_line_names_its_process(restored_logging: None) -> None:
    logged = _logged("TEXT").splitlines()
    assert len(logged) == 2
    assert all("process=relay" in line for line in logged), logged
    assert "relayed 3 events" in logged[0]
