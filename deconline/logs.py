"""Service logs as text for people or one JSON object a line for log collectors, with request ids."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
REQUEST_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "party")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the request's fields when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"), default=str)


def log_config(log_format: LogFormat, level: str, access: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and deconline: uvicorn's own access log is off,
    deconline's (``deconline.access``, one line a request with its id) is on unless ``access`` is
    False."""
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    formatter: dict[str, Any] = {"()": JsonFormatter} if log_format == "json" else {"format": text}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    logger = {"handlers": ["main"], "level": level.upper(), "propagate": False}
    loggers = {"uvicorn": logger, "uvicorn.error": logger, "deconline": logger}
    if not access:
        loggers["deconline.access"] = {**logger, "level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": loggers,
    }
