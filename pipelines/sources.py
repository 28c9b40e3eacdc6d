"""From a source's config to its connector and streams, for every kind.

Each kind is a package `connectors.<kind>` exposing `STREAMS` (stream names, known
without connecting) and `build_source(cfg)`; this module finds it by the kind's name.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from connectors.base import Source
from workhub.config import SourceConfig

__all__ = ["make_source", "stream_names"]


def _package(kind: str) -> ModuleType:
    return importlib.import_module(f"connectors.{kind}")


def stream_names(kind: str) -> list[str]:
    """The streams a kind of source offers."""
    streams: list[str] = _package(kind).STREAMS
    return streams


def make_source(cfg: SourceConfig) -> Source:
    """The connector for a configured source."""
    build: Any = _package(cfg.kind).build_source
    source: Source = build(cfg)
    return source
