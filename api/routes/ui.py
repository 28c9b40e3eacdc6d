"""Web pages: a person's 360 view with their weeks, and a team's live capacity report.

Signed in with an API token: `/ui/login` takes it once and keeps it in an HttpOnly,
SameSite=Strict cookie; pages read that cookie (or an Authorization header) and
authenticate like the API. The token never appears in a page or a URL. Privacy is the
API's: the same query functions, with the same Viewer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Clock, Config, DbSession
from model import Person, Team
from model.queries.access import Viewer, authenticate
from model.queries.forecast import forecast_for
from model.queries.items import GROUPS, search_items
from workhub.report import (
    BAR_PARTS,
    BAR_WIDTH,
    TEMPLATES,
    ReportError,
    bar_extent,
    build_capacity_report,
    capacity_context,
    week_bars,
)

__all__ = ["COOKIE", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

#: The cookie that carries the token between pages.
COOKIE = "workhub_token"
#: Pages are personal: never cached, never framed, no scripts, no third-party requests.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src data:; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
GROUP_TITLES = {"issues": "Issues", "pull_requests_and_reviews": "Pull requests and reviews",
                "requests_by_email": "Requests by email", "meetings": "Meetings",
                "time_off": "Time off", "pages_and_tasks": "Pages and tasks",
                "duties": "Duties", "goals": "Goals"}
PAGE_LIMIT = 500


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("nav", None)
    return HTMLResponse(TEMPLATES.get_template(name).render(context), status_code=status,
                        headers=HEADERS)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def _viewer(request: Request, session: Session, now: datetime) -> Viewer | None:
    token = _token(request)
    return authenticate(session, token, now) if token else None


def _sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
    if request.cookies.get(COOKIE):
        response.delete_cookie(COOKIE, path="/ui")  # unknown or revoked: forget it
    return response


def _nav(session: Session, viewer: Viewer) -> dict[str, Any]:
    me = session.get(Person, viewer.person_id)
    teams = list(session.scalars(select(Team).order_by(Team.slug)))
    return {"person": me.slug if me else "", "name": me.name if me else "?",
            "role": str(viewer.role), "teams": teams}


def _not_found(session: Session, viewer: Viewer, what: str) -> HTMLResponse:
    return _page("error.html", 404, nav=_nav(session, viewer), title="Not found",
                 message=f"There is no {what} here. It may have been renamed or removed.")


def _safe_next(target: str | None) -> str:
    # Only our own pages: no scheme, no host, no "//evil.example".
    if target and target.startswith("/ui/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/ui/"


@router.get("/login")
def login_form(next: str | None = None) -> HTMLResponse:
    """The sign-in form: paste an API token."""
    return _page("login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(request: Request, session: DbSession, now: Clock) -> Response:
    """Check the token; on success keep it in an HttpOnly, SameSite=Strict cookie."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or [""])[0])
    if not token or authenticate(session, token, now) is None:
        return _page("login.html", 401, next=target,
                     error="That token is unknown or revoked.")
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    """Forget the token."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/")
def home(request: Request, session: DbSession, now: Clock) -> Response:
    """The signed-in person's own page."""
    viewer = _viewer(request, session, now)
    if viewer is None:
        return _sign_in(request)
    me = session.get(Person, viewer.person_id)
    return RedirectResponse(f"/ui/people/{me.slug}" if me else "/ui/login", status_code=303)


Start = Annotated[date | None, Query(description="A day of the first week.")]
Weeks = Annotated[int, Query(ge=1, le=26)]


@router.get("/people/{person_id}")
def person_page(person_id: str, request: Request, session: DbSession, now: Clock,
                config: Config, start: Start = None, weeks: Weeks = 6) -> Response:
    """A person's 360 view (items by kind) and, if the viewer may see it, their weeks."""
    viewer = _viewer(request, session, now)
    if viewer is None:
        return _sign_in(request)
    person = session.scalar(select(Person).where(Person.slug == person_id))
    if person is None:
        return _not_found(session, viewer, f"person “{person_id}”")
    page = search_items(session, viewer, people=[person.id], sort="due", limit=PAGE_LIMIT)
    grouped: dict[str, list[Any]] = {}
    for item in page.items:
        grouped.setdefault(item.group, []).append(item)
    order = list(dict.fromkeys(GROUPS.values()))
    groups = [(g, GROUP_TITLES[g], page.groups.get(g, 0), grouped.get(g, []))
              for g in order if page.groups.get(g)]
    forecast = None
    if viewer.can_see_load_of(person.id):
        first = start or now.astimezone(ZoneInfo(person.timezone)).date()
        forecast = forecast_for(session, viewer, person, config.org, first, weeks, now)
    return _page("person.html", nav=_nav(session, viewer), person=person, groups=groups,
                 more=page.next_cursor is not None, limit=PAGE_LIMIT, forecast=forecast,
                 tz=ZoneInfo(person.timezone), now=now, bar_parts=BAR_PARTS,
                 **_person_bars(forecast))


def _person_bars(forecast: Any) -> dict[str, Any]:
    weeks = forecast.weeks if forecast is not None else []
    return {"bars_rows": week_bars(weeks, bar_extent(weeks)), "bar_width": BAR_WIDTH}


@router.get("/teams/{team_id}")
def team_page(team_id: str, request: Request, session: DbSession, now: Clock, config: Config,
              start: Start = None, weeks: Weeks = 6) -> Response:
    """The team's capacity report, live: the same page as `workhub report capacity`."""
    viewer = _viewer(request, session, now)
    if viewer is None:
        return _sign_in(request)
    if session.scalar(select(Team.id).where(Team.slug == team_id)) is None:
        return _not_found(session, viewer, f"team “{team_id}”")
    try:
        report = build_capacity_report(session, viewer, team_id, config, start, weeks, now)
    except ReportError:
        return _page("error.html", 403, nav=_nav(session, viewer), title="Not yours to see",
                     message="A team's capacity is shown to its managers, its members "
                             "(their own weeks) and admins.")
    context = capacity_context(report)
    return _page("capacity.html", nav=_nav(session, viewer), link_people=True, **context)


@router.get("/{rest:path}")
def unknown_page(rest: str, request: Request, session: DbSession, now: Clock) -> Response:
    """Anything else under /ui: a friendly 404 (after sign-in)."""
    viewer = _viewer(request, session, now)
    if viewer is None:
        return _sign_in(request)
    return _not_found(session, viewer, "page")
