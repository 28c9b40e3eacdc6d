"""`workhub report`: the manager capacity report as JSON, CSV or a self-contained HTML.

The numbers are `model.queries.capacity.team_capacity`, the same the API serves at
`GET /v1/teams/{id}/capacity`; the JSON document is `api.schemas.CapacityOut`, so the file
and the API cannot drift apart. The HTML is rendered from the Jinja2 templates in
`api/templates/` that the web pages (`api/routes/ui.py`) share.
"""

from __future__ import annotations

import csv
import enum
import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.capacity import capacity_document
from api.freshness import freshness
from api.schemas import CapacityOut
from model.queries.access import Viewer
from workhub.config import WorkhubConfig

__all__ = [
    "BAR_PARTS",
    "BAR_WIDTH",
    "CSV_COLUMNS",
    "TEMPLATES",
    "CapacityReport",
    "ReportError",
    "ReportFormat",
    "bar_extent",
    "bar_segments",
    "build_capacity_report",
    "capacity_context",
    "heat_colour",
    "render_csv",
    "render_html",
    "render_json",
    "report_app",
    "report_viewer",
    "week_bars",
    "write_capacity_report",
]

report_app = typer.Typer(help="Reports: the manager capacity report.", no_args_is_help=True)

#: The CSV columns, in order: one row per member and week (README quotes this list).
CSV_COLUMNS = ("person", "name", "week", "start", "working_hours", "time_off_hours",
               "meeting_hours", "duty_hours", "available_hours", "committed_hours",
               "utilization", "focus_hours", "unestimated_items", "at_risk_items",
               "over_allocated")

#: The templates shared by the report file and the web pages (inline CSS, no network).
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "api" / "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)




def _hours(value: float | None) -> str:
    """12 -> "12", 12.5 -> "12.5", None -> "—"."""
    if value is None:
        return "—"
    return f"{value:.1f}".removesuffix(".0")


def _percent(value: float | None) -> str:
    """A utilization as a whole percentage; "—" when nothing was available."""
    return "—" if value is None else f"{value * 100:.0f} %"


def _local(moment: datetime | None, tz: ZoneInfo | str, with_time: bool = True) -> str:
    """A UTC moment as wall-clock time in `tz`, e.g. "Thu 3 Dec 2026, 17:00"."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
    text = f"{local:%a} {local.day} {local:%b %Y}"
    return f"{text}, {local:%H:%M}" if with_time else text


def _day(value: date) -> str:
    """A date as "30 Nov"."""
    return f"{value.day} {value:%b}"


TEMPLATES.filters.update(hours=_hours, pct=_percent, local=_local, day=_day)


class ReportError(Exception):
    """A report that cannot be made: unknown team or person, or nothing visible."""


class ReportFormat(enum.StrEnum):
    """The formats of `workhub report capacity`."""

    html = "html"
    csv = "csv"
    json = "json"


@dataclass
class CapacityReport:
    """The API's capacity document plus what only the HTML shows: the unestimated items."""

    doc: CapacityOut
    now: datetime
    timezone: str
    unestimated: list[dict[str, Any]] = field(default_factory=list)


def report_viewer(session: Session, as_person: str | None) -> Viewer:
    """An admin viewer, or the named person with the rights of a manager."""
    from model import Person, TokenRole
    from model.queries.access import reports_of

    if as_person is None:
        return Viewer(person_id=0, role=TokenRole.admin)  # 0: nobody's own work
    person = session.scalar(select(Person).where(Person.slug == as_person))
    if person is None:
        raise ReportError(f"no person {as_person!r}")
    return Viewer(person.id, TokenRole.manager, reports_of(session, person.id))


def build_capacity_report(session: Session, viewer: Viewer, team_id: str, config: WorkhubConfig,
                          start: date | None, weeks: int, now: datetime) -> CapacityReport:
    """The team's capacity as the viewer may see it (start defaults to this week)."""
    from model import Team
    from model.queries.capacity import team_capacity

    team = session.scalar(select(Team).where(Team.slug == team_id))
    if team is None:
        raise ReportError(f"no team {team_id!r}")
    stated = freshness(session, now)
    tz = config.org.timezone
    first = start or now.astimezone(ZoneInfo(tz)).date()
    report = team_capacity(session, viewer, team, config.org, first, weeks, now)
    if not report.members and report.hidden_members:
        raise ReportError(f"no member of team {team_id!r} is yours to see")
    doc = capacity_document(report, stated)
    unestimated = [{"person": m.person, "title": i.title, "url": i.url, "kind": str(i.kind),
                    "hours": round(i.hours, 2), "due": i.due,
                    "projected_finish": i.projected_finish}
                   for m in report.members for i in m.items if i.unestimated and i.hours > 0]
    return CapacityReport(doc, now, tz, unestimated)


def render_json(report: CapacityReport) -> str:
    """The document the API returns, as JSON text."""
    return report.doc.model_dump_json(indent=2) + "\n"


def render_csv(report: CapacityReport) -> str:
    """One row per member and week, with exactly `CSV_COLUMNS`."""
    over = {(o.person, o.week) for o in report.doc.over_allocated}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for member in report.doc.members:
        for w in member.weeks:
            writer.writerow([
                member.person, member.name, w.week, w.start.isoformat(), w.working_hours,
                w.time_off_hours, w.meeting_hours, w.duty_hours, w.available_hours,
                w.committed_hours, "" if w.utilization is None else w.utilization,
                w.focus_hours, w.unestimated_items, len(w.at_risk),
                "true" if (member.person, w.week) in over else "false"])
    return out.getvalue()


# ---------------------------------------------------------------- HTML


def heat_colour(utilization: float | None) -> str:
    """The heatmap colour of a utilization: pale to green to amber; red over 100 %."""
    if utilization is None:
        return "#eceff1"
    stops = ((0.0, (232, 245, 233)), (0.7, (102, 187, 106)), (0.9, (255, 202, 40)),
             (1.0, (251, 140, 0)))
    if utilization > 1.0:
        return "#c62828"
    for (u0, c0), (u1, c1) in pairwise(stops):
        if utilization <= u1:
            t = (utilization - u0) / (u1 - u0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1,
                                                                                strict=True))
    return "#fb8c00"


#: The stacked bar's parts, in drawing order: (field, label, CSS class).
BAR_PARTS = (("meeting_hours", "Meetings", "meet"), ("time_off_hours", "Time off", "off"),
             ("duty_hours", "Duties", "duty"), ("committed", "Committed", "work"),
             ("free", "Free", "free"), ("over", "Over capacity", "over"))
#: The width of the widest stacked bar, in SVG units.
BAR_WIDTH = 520.0
TEMPLATES.filters["heat"] = heat_colour


def bar_segments(week: Any, scale: float) -> list[dict[str, Any]]:
    """One week's stacked bar: where each part starts and how wide it is."""
    parts = {"meeting_hours": week.meeting_hours, "time_off_hours": week.time_off_hours,
             "duty_hours": week.duty_hours,
             "committed": min(week.committed_hours, week.available_hours),
             "free": max(0.0, week.available_hours - week.committed_hours),
             "over": max(0.0, week.committed_hours - week.available_hours)}
    x, out = 0.0, []
    for name, label, css in BAR_PARTS:
        width = parts[name] * scale
        if width > 0:
            out.append({"x": round(x, 1), "w": round(width, 1), "css": css, "label": label,
                        "hours": round(parts[name], 2)})
            x += width
    return out


def bar_extent(weeks: Iterable[Any]) -> float:
    """The hours the widest bar stands for, so bars on one page share a scale."""
    return max([max(w.working_hours, w.time_off_hours + w.meeting_hours + w.duty_hours
                    + max(w.available_hours, w.committed_hours)) for w in weeks] + [1.0])


def week_bars(weeks: Iterable[Any], extent: float) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Each week with its stacked bar's segments, `extent` hours being the full width."""
    return [(w, bar_segments(w, BAR_WIDTH / extent)) for w in weeks]


def capacity_context(report: CapacityReport) -> dict[str, Any]:
    """Everything `capacity.html` shows, worked out here so the template stays simple."""
    doc = report.doc
    weeks = doc.totals
    extent = bar_extent([w for m in doc.members for w in m.weeks])
    over = {(o.person, o.week) for o in doc.over_allocated}
    available = sum(w.available_hours for w in weeks)
    committed = sum(w.committed_hours for w in weeks)
    return {
        "doc": doc, "report": report, "tz": ZoneInfo(report.timezone),
        "first": weeks[0] if weeks else None, "last": weeks[-1] if weeks else None,
        "period_end": weeks[-1].start + timedelta(days=6) if weeks else None,
        "over": over, "bar_parts": BAR_PARTS, "bar_width": BAR_WIDTH,
        "member_bars": {m.person: week_bars(m.weeks, extent) for m in doc.members},
        "names": {m.person: m.name for m in doc.members},
        "kpi": {"available": round(available, 1), "committed": round(committed, 1),
                "utilization": committed / available if available > 0 else None,
                "at_risk": len(doc.at_risk), "over": len(doc.over_allocated),
                "unestimated": len(report.unestimated)},
    }


def render_html(report: CapacityReport, **page: Any) -> str:
    """The capacity report as one self-contained HTML page (`page`: web-page extras)."""
    context = {"nav": None, "link_people": False, **capacity_context(report), **page}
    return TEMPLATES.get_template("capacity.html").render(context)


def write_capacity_report(sessions: sessionmaker[Session], config: WorkhubConfig, *,
                          team: str, fmt: ReportFormat, now: datetime,
                          start: date | None = None, weeks: int = 6,
                          as_person: str | None = None) -> str:
    """The team's capacity report in `fmt`, as an admin or as `as_person` (a manager)."""
    with sessions() as session:
        viewer = report_viewer(session, as_person)
        report = build_capacity_report(session, viewer, team, config, start, weeks, now)
    render = {ReportFormat.html: render_html, ReportFormat.csv: render_csv,
              ReportFormat.json: render_json}[fmt]
    return render(report)


# ---------------------------------------------------------------- the command


@report_app.command("capacity")
def capacity(
    team: Annotated[str, typer.Option(help="The team id.")],
    start: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="A day of the first week (default: this week).")] = None,
    weeks: Annotated[int, typer.Option(min=1, max=26, help="How many ISO weeks.")] = 6,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html, csv or json.")
                   ] = ReportFormat.html,
    out: Annotated[Path | None, typer.Option(help="The file to write (default: stdout).")
                   ] = None,
    config: Annotated[str | None, typer.Option(
        "--config", "-c", help="workhub.yaml (default: $WORKHUB_CONFIG, then ./workhub.yaml).")
                      ] = None,
    as_person: Annotated[str | None, typer.Option(
        "--as", help="Report as this person, with their manager rights (default: admin).")
                         ] = None,
    as_of: Annotated[datetime | None, typer.Option(
        "--as-of", help="Forecast from this moment, ISO 8601 with offset (default: now).")
                     ] = None,
) -> None:
    """The manager capacity report: members x weeks, risks, over-allocations."""
    from model.base import utcnow
    from workhub.cli import _load, _sessions, err

    cfg = _load(config)
    if as_of is not None and as_of.tzinfo is None:
        err.print("[red]--as-of needs a time zone offset, e.g. 2026-12-02T12:00:00+00:00[/red]")
        raise typer.Exit(2)
    try:
        text = write_capacity_report(
            _sessions(cfg), cfg, team=team, fmt=fmt, now=as_of or utcnow(),
            start=start.date() if start else None, weeks=weeks, as_person=as_person)
    except ReportError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    err.print(f"wrote {out}", highlight=False)
