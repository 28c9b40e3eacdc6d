"""The web pages and the HTML report in a real browser (headless Chromium via Playwright).

The app is served on loopback over a SQLite database holding the hand-built team of
`test_report` (Bob and Alice, "now" Wednesday 2 December 2026). Screenshots are saved
under the test's tmp_path and copied to `.workhub/screenshots/` for a human to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import sessionmaker

from api.app import create_app
from conftest import NOW
from helpers import token_for
from model.db import make_engine
from sandbox.serve import serving
from test_report import CONFIG, START, WEEKS, build_scenario
from workhub.report import ReportFormat, write_capacity_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[1] / ".workhub" / "screenshots"
PERIOD = f"start={START.isoformat()}&weeks={WEEKS}"


@dataclass
class Site:
    """The served app, a manager's token and the report file."""

    url: str
    token: str
    member_token: str
    report: Path


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app on loopback over the scenario, and the same report written to a file."""
    folder = tmp_path_factory.mktemp("ui")
    path = folder / "workhub.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = sessionmaker(engine, expire_on_commit=False)
    build_scenario(sessions)
    token = token_for(sessions, "ann", "manager")
    member = token_for(sessions, "bob", "member")
    report = folder / "capacity-core.html"
    report.write_text(write_capacity_report(sessions, CONFIG, team="core",
                                            fmt=ReportFormat.html, now=NOW, start=START,
                                            weeks=WEEKS), encoding="utf-8")
    with serving(create_app(sessions, CONFIG, clock=lambda: NOW)) as url:
        yield Site(url, token, member, report)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
                    "(CI installs it with `apt-get install chromium`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at a laptop's screen size."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def _shoot(page: Page, tmp_path: Path, name: str) -> None:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)
    except OSError:  # a read-only checkout still runs the test
        pass


def _sign_in(page: Page, site: Site, target: str, token: str | None = None) -> None:
    page.goto(f"{site.url}{target}")
    assert "/ui/login" in page.url  # no cookie yet: sent to sign in first
    page.fill("#token", token or site.token)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_sign_in_sets_an_http_only_strict_cookie(page: Page, site: Site, tmp_path: Path
                                                 ) -> None:
    page.goto(f"{site.url}/ui/people/bob")
    _shoot(page, tmp_path, "login")
    _sign_in(page, site, "/ui/people/bob")
    (cookie,) = page.context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_the_token_is_never_in_a_page_or_url(page: Page, site: Site) -> None:
    _sign_in(page, site, f"/ui/teams/core?{PERIOD}")
    assert site.token not in page.url and site.token not in page.content()


def test_a_wrong_token_is_refused(page: Page, site: Site) -> None:
    _sign_in(page, site, "/ui/teams/core", token="whk_not-a-token")
    assert "/ui/login" in page.url and "unknown or revoked" in page.inner_text("main")


def test_person_page_shows_weeks_risks_and_work(page: Page, site: Site, tmp_path: Path
                                                ) -> None:
    _sign_in(page, site, f"/ui/people/bob?{PERIOD}")
    assert page.url.endswith(f"/ui/people/bob?{PERIOD}")
    assert page.inner_text("h1") == "Bob Builder"
    weeks = page.inner_text("#weeks")
    # W49: 44 h owed against 40 available; W50: 29 available after vacation and meetings.
    for text in ("2026-W49", "110 %", "44 / 40 h", "2026-W50", "5 / 29 h", "LATE-1"):
        assert text in weeks, text
    risks = page.inner_text("#at-risk")
    assert "Thu 10 Dec 2026, 12:00" in risks and "at risk" in risks
    work = page.inner_text("#work")
    for text in ("Issues (3)", "Meetings (2)", "Time off (1)", "Design review", "Vacation"):
        assert text in work, text
    _shoot(page, tmp_path, "person-bob")


def test_team_page_is_the_capacity_report(page: Page, site: Site, tmp_path: Path) -> None:
    _sign_in(page, site, f"/ui/teams/core?{PERIOD}")
    heat = page.inner_text("#heatmap")
    for text in ("Alice Adler", "Bob Builder", "110 %", "83 %", "22 %", "48 / 58 h"):
        assert text in heat, text
    assert "LATE-1" in page.inner_text("#at-risk")
    assert "2026-W49" in page.inner_text("#over-allocated")
    assert "PLAT-3" in page.inner_text("#unestimated")
    _shoot(page, tmp_path, "team-core")


def test_a_member_sees_only_their_own_weeks_of_the_team(page: Page, site: Site) -> None:
    _sign_in(page, site, f"/ui/teams/core?{PERIOD}", token=site.member_token)
    heat = page.inner_text("#heatmap")
    assert "Bob Builder" in heat and "Alice Adler" not in heat
    assert "1 not shown to you" in page.inner_text("main")


def test_unknown_ids_get_a_friendly_404(page: Page, site: Site, tmp_path: Path) -> None:
    _sign_in(page, site, "/ui/people/nobody")
    response = page.goto(f"{site.url}/ui/teams/nobody")
    assert response is not None and response.status == 404
    assert "There is no team “nobody” here" in page.inner_text("main")
    _shoot(page, tmp_path, "not-found")


def test_report_file_shows_the_same_numbers_offline(page: Page, site: Site, tmp_path: Path
                                                    ) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site.report.as_uri())
    assert page.inner_text("h1") == "Capacity — Core"
    heat = page.inner_text("#heatmap")
    for text in ("Alice Adler", "Bob Builder", "110 %", "83 %", "48 / 58 h"):
        assert text in heat, text
    risks = page.inner_text("#at-risk")
    assert "LATE-1" in risks and "Thu 3 Dec 2026, 17:00" in risks
    assert requests == [site.report.as_uri()]  # self-contained: nothing else is fetched
    _shoot(page, tmp_path, "report-core")


def test_pages_without_a_token_redirect_to_sign_in(site: Site) -> None:
    response = httpx.get(f"{site.url}/ui/teams/core?weeks=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fteams%2Fcore%3Fweeks%3D2"


def test_pages_accept_an_authorization_header(site: Site) -> None:
    response = httpx.get(f"{site.url}/ui/teams/core?{PERIOD}",
                         headers={"Authorization": f"Bearer {site.token}"})
    assert response.status_code == 200 and "Bob Builder" in response.text
    assert response.headers["cache-control"] == "no-store"


def test_sign_in_only_returns_to_our_own_pages(site: Site) -> None:
    response = httpx.post(f"{site.url}/ui/login",
                          data={"token": site.token, "next": "//evil.example/ui/"})
    assert (response.status_code, response.headers["location"]) == (303, "/ui/")
