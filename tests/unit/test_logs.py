"""Every process logs one JSON object per line, with the correlation id of the work in hand."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from entrypoints.logs import configure_logging
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
