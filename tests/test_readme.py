"""The README describes what the code does: the CSV columns and the workload fields."""

from __future__ import annotations

import re
from pathlib import Path

from api.schemas import WeekOut
from workhub.report import CSV_COLUMNS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start:end if end > 0 else None]


def _first_column_names(section: str) -> list[str]:
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([a-z_]+)`", line.split("|")[1])
    return names


def test_the_csv_columns_are_the_documented_ones_in_order() -> None:
    assert _first_column_names(_section("### The capacity report's CSV")) == list(CSV_COLUMNS)


def test_every_workload_field_is_documented() -> None:
    documented = set(_first_column_names(_section("### Workload and forecast")))
    assert set(WeekOut.model_fields) - {"week", "start"} == documented
