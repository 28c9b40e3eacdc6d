"""The read API over a graph synced from a real Radicale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from calendars import vcalendar, vevent
from conftest import Database, Radicale
from helpers import caldav_config, token_for
from pipelines.sync import sync_everything

PROBLEM = "application/problem+json"


@pytest.fixture
def client(db: Database, radicale: Radicale, now: datetime) -> Iterator[TestClient]:
    """The API over bob's calendar: six meetings, one of them cancelled, one deleted."""
    user = radicale.new_user()
    radicale.make_calendar(user)
    for n in range(6):
        extra = "STATUS:CANCELLED" if n == 5 else ""
        radicale.put(
            user,
            "work",
            f"m{n}",
            vcalendar(
                vevent(
                    f"m{n}",
                    f"2026120{n + 1}T100000Z",
                    f"2026120{n + 1}T110000Z",
                    f"Meeting {n}",
                    organizer="alice@example.com",
                    attendees={"bob@example.com": "ACCEPTED"},
                    extra=extra,
                )
            ),
        )
    radicale.put(
        user,
        "work",
        "gone",
        vcalendar(vevent("gone", "20261201T120000Z", "20261201T130000Z", "Gone")),
    )
    config = caldav_config(radicale.url, {user: "bob"})
    sync_everything(db.sessions, config, now)
    radicale.delete(user, "work", "gone")
    sync_everything(db.sessions, config, now)
    token = token_for(db.sessions, "bob")
    with TestClient(create_app(db.sessions, config, clock=lambda: now),
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_people_list(client: TestClient) -> None:
    people = client.get("/v1/people").json()["people"]
    assert [p["id"] for p in people] == ["alice", "bob", "carol"]
    assert people[1]["manager"] == "alice" and people[2]["timezone"] == "America/New_York"


def test_work_view_pages_through_every_live_item(client: TestClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "sort": "start", **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/people/bob/work", params=params).json()
        seen += [item["title"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Meeting {n}" for n in range(6)]  # the deleted one is gone
    item = client.get("/v1/people/bob/work", params={"limit": 1, "sort": "start"}
                      ).json()["items"][0]
    assert item["kind"] == "meeting" and item["roles"] == ["attendee"]
    assert item["source"] == "cal-bob" and item["url"].endswith("/work/m0.ics")
    assert item["start"] == "2026-12-01T10:00:00Z"


def test_work_view_filters_by_status(client: TestClient) -> None:
    body = client.get("/v1/people/bob/work", params={"status": "cancelled"}).json()
    assert [i["title"] for i in body["items"]] == ["Meeting 5"]
    assert client.get("/v1/people/bob/work", params={"kind": "issue"}).json()["items"] == []


def test_every_view_says_how_fresh_it_is(client: TestClient, now: datetime) -> None:
    (fresh,) = client.get("/v1/people/bob/work").json()["as_of"]
    assert fresh["source"] == "cal-bob" and fresh["stream"] == "events"
    assert fresh["lag_seconds"] is not None and fresh["lag_seconds"] >= 0


def test_workload_weeks_have_exactly_the_documented_fields(client: TestClient) -> None:
    body = client.get("/v1/people/bob/workload", params={"start": "2026-12-01", "weeks": 2}).json()
    assert body["timezone"] == "Europe/Berlin"
    first, second = body["weeks"]
    assert set(first) == {
        "week",
        "start",
        "working_hours",
        "time_off_hours",
        "meeting_hours",
        "duty_hours",
        "available_hours",
        "committed_hours",
        "utilization",
        "focus_hours",
        "unestimated_items",
        "at_risk",
        "email_received",
        "email_sent",
    }
    assert (first["week"], first["start"]) == ("2026-W49", "2026-11-30")
    assert first["meeting_hours"] == 4.0  # Tue-Fri; Saturday is no working day, Sunday's cancelled
    assert second["week"] == "2026-W50"


def test_workload_defaults_to_this_week_in_the_persons_zone(client: TestClient) -> None:
    weeks = client.get("/v1/people/bob/workload").json()["weeks"]
    assert len(weeks) == 6 and weeks[0]["week"] == "2026-W49"


def test_sources_report_counts_and_cursor(client: TestClient) -> None:
    (stream,) = client.get("/v1/sources").json()["sources"]
    assert stream["source"] == "cal-bob" and stream["last_status"] == "success"
    assert (stream["records"], stream["deleted"], stream["quarantined"]) == (7, 1, 0)
    assert list(stream["cursor"]) == ["tokens"]


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/v1/people/bob/workload?weeks=0", 422, "weeks"),
        ("/v1/people/bob/workload?weeks=53", 422, "weeks"),
        ("/v1/people/bob/workload?start=2026-13-01", 422, "start"),
        ("/v1/people/bob/work?limit=0", 422, "limit"),
        ("/v1/people/bob/work?kind=spaceship", 422, "kind"),
        ("/v1/people/bob/work?status=maybe", 422, "status"),
    ],
)
def test_bad_parameters_are_problems_naming_the_parameter(
    client: TestClient, url: str, status: int, parameter: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


def test_a_forged_cursor_is_a_400(client: TestClient) -> None:
    response = client.get("/v1/people/bob/work", params={"cursor": "bm90LW91cnM"})
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == "cursor"


@pytest.mark.parametrize("url", ["/v1/people/zed/work", "/v1/people/zed/workload", "/v1/nothing"])
def test_unknown_ids_are_404_problems(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
