"""Names a connector package exports but imports only when they are first used.

`workhub.config` reads every kind's settings, which imports every connector package;
importing their client libraries there (exchangelib, caldav, PyGithub, jira) cost about
0.9 s of every CLI command and of every normalization worker's start, which use none.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, **modules: tuple[str, ...]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each name from its submodule
    (`source=("JiraSource",)`: `package.source`) on first use."""
    where = {name: f"{package}.{module}" for module, names in modules.items() for name in names}

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return attribute
