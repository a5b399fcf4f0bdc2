"""Logging for every orderhub process: one JSON object per line (LOG_FORMAT=json, the default) or
readable text (LOG_FORMAT=text), each line with the correlation id of the work in hand.

Library and orderhub loggers alike go through the standard `logging` module; structlog's
`ProcessorFormatter` renders their records, so nothing has to log in a special way."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

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


def configure_logging(level: str, fmt: str = "JSON") -> None:
    """Route every log record of this process to stderr at `level`, rendered as `fmt`."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt.upper() == "JSON"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
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
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_orderhub", False)]:
        root.removeHandler(existing)
    handler._orderhub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _STATEMENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
