"""`read_jsonl` inside `sharing()`: one object for every equal, list-free part of a world.

A served world repeats itself: every pull request embeds its repository twice, every
issue its people, status and project. Loaded from JSON Lines each copy is a separate
dict, and a million-item world would not fit in memory. Sharing equal parts (dicts whose
values are scalars or other shared dicts; lists and the dicts holding them stay apart,
since stores append to those in place) cuts that to what is distinct.

Only for serving a large world read-mostly (the benchmark): a shared part changed in
place changes everywhere it appears.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["read_jsonl", "sharing"]

_SCALARS = (str, int, float, bool, type(None))


class _Table:
    """Canonical objects by content: dicts by their (key, value-or-id) tuple, and
    strings (repeated keys and values such as timestamps, logins, URLs)."""

    def __init__(self) -> None:
        self.dicts: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.strings: dict[str, str] = {}

    def text(self, value: str) -> str:
        return self.strings.setdefault(value, value)


def _share(value: Any, table: _Table) -> tuple[Any, bool]:
    """The shared form of `value`, and whether it (and all it holds) is list-free."""
    if isinstance(value, str):
        return table.text(value), True
    if isinstance(value, _SCALARS):
        return value, True
    if isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _share(item, table)[0]
        return value, False
    if isinstance(value, dict):
        shareable = True
        rebuilt: dict[str, Any] = {}
        for key, item in value.items():
            shared, flat = _share(item, table)
            rebuilt[table.text(key)] = shared
            shareable = shareable and flat
        value.clear()
        value.update(rebuilt)
        if not shareable:
            return value, False
        # Shared children are canonical, so their identity stands for their content.
        # Types too: JSON tells true from 1, which Python's equality does not.
        signature = tuple((k, v.__class__, v) if isinstance(v, _SCALARS) else (k, id(v))
                          for k, v in value.items())
        return table.dicts.setdefault(signature, value), True
    return value, False


#: The table rows read by `read_jsonl` are shared through, inside `sharing()`.
_active: _Table | None = None


@contextmanager
def sharing() -> Iterator[None]:
    """Within the block, `read_jsonl` shares equal parts across everything it reads."""
    global _active
    _active = _Table()
    try:
        yield
    finally:
        _active = None


def read_jsonl(path: Path) -> list[Any]:
    """The rows of a JSON Lines file, streamed (a world's files run to gigabytes), each
    row's equal parts shared as it is read when inside `sharing()`."""
    rows: list[Any] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                rows.append(_share(row, _active)[0] if _active is not None else row)
    return rows
