"""Structured logs (structlog) for the CLI, the API server and the pipelines.

One line per event with key=value pairs, to stderr. Nothing that reaches a log is a
secret: sources are named by their config name, requests by method and path.
"""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging", "get_logger", "log_level"]


def log_level() -> str:
    """The commands' level: quiet on a terminal, every event when the output is collected."""
    return "WARNING" if sys.stdout.isatty() else "INFO"


def configure_logging(level: str = "INFO") -> None:
    """Send structlog's events to stderr as `time level event key=value ...` lines."""
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(message)s")
    # One INFO line per HTTP request (httpx) would drown the sync's own events and cost
    # a formatted line per page; their warnings still show.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for a module."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
