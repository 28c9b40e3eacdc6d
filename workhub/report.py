"""`workhub report`: the manager capacity report as JSON, CSV or a self-contained HTML."""

from __future__ import annotations

import typer

__all__ = ["report_app"]

report_app = typer.Typer(help="Reports: the manager capacity report.", no_args_is_help=True)
