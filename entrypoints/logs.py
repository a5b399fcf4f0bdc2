"""Logging for every orderhub process: readable text when stdout is a terminal, one JSON object per
line otherwise (LOG_FORMAT=TEXT or JSON decides instead when set), each line with the process's
name (`serve`, `relay`, `worker`, ...) and the correlation id of the work in hand.

Library and orderhub loggers alike go through the standard `logging` module; structlog's
`ProcessorFormatter` renders their records, so nothing has to log in a special way."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from ports.correlation import current_correlation_id

#: Drivers that log every statement with its parameters (key hashes among them) at DEBUG.
_STATEMENT_LOGGERS = ("aiosqlite", "asyncpg")


def _add_correlation_id(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    correlation = current_correlation_id()
    if correlation is not None:
        event.setdefault("correlation_id", correlation)
    return event


def _drop_formatted_copies(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """`message` (left by any handler that formatted the record first) and uvicorn's
    `color_message` repeat the event."""
    event.pop("message", None)
    event.pop("color_message", None)
    return event


def log_format(chosen: str | None, stdout: TextIO | None = None) -> str:
    """`LOG_FORMAT` when set; otherwise TEXT for a person at a terminal (`stdout`, the
    process's own by default), JSON for a pipeline."""
    if chosen:
        return chosen.upper()
    return "TEXT" if (stdout or sys.stdout).isatty() else "JSON"


def configure_logging(
    level: str,
    fmt: str | None = None,
    process: str = "orderhub",
    file: Path | None = None,
    stream: TextIO | None = None,
) -> None:
    """Route every log record of this process to `stream` (stderr by default) or to `file` at
    `level`, rendered as `fmt` (None: `log_format`'s choice), each naming `process`."""

    def _add_process(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("process", process)
        return event

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format(fmt) == "JSON"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_process,
            _add_correlation_id,
            structlog.stdlib.ExtraAdder(),
            _drop_formatted_copies,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler: logging.Handler = (
        logging.StreamHandler(stream)
        if file is None
        else logging.FileHandler(file, encoding="utf-8")
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_orderhub", False)]:
        root.removeHandler(existing)
    handler._orderhub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _STATEMENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
