"""The Dagster code location: assets, checks and schedules built from the config."""

from __future__ import annotations

from datetime import datetime

from dagster import AssetKey, materialize

from calendars import vcalendar, vevent
from conftest import Database, Radicale
from helpers import caldav_config
from pipelines.definitions import build_definitions
from pipelines.resources import Workhub
from pipelines.run import run_sync
from workhub.config import WorkhubConfig


def _config_with(
    radicale: Radicale, *extra_sources: dict[str, object]
) -> tuple[WorkhubConfig, str]:
    user = radicale.new_user()
    radicale.make_calendar(user)
    radicale.put(
        user,
        "work",
        "m",
        vcalendar(
            vevent(
                "pipeline-m",
                "20261202T100000Z",
                "20261202T110000Z",
                "Planning",
                organizer="alice@example.com",
                attendees={"bob@example.com": "ACCEPTED"},
            )
        ),
    )
    base = caldav_config(radicale.url, {user: "alice"}).model_dump(mode="json")
    for source in base["sources"]:
        source["password"] = "x"
    base["sources"] += list(extra_sources)
    return WorkhubConfig.model_validate(base), user


def test_definitions_have_an_asset_per_stream_checks_and_a_schedule_per_source(
    radicale: Radicale,
) -> None:
    config, _ = _config_with(
        radicale,
        {
            "name": "cal-two",
            "kind": "caldav",
            "url": "http://127.0.0.1:9/",
            "schedule": "5 * * * *",
        },
    )
    defs = build_definitions(config)
    keys = set(defs.resolve_all_asset_keys())
    assert keys == {
        AssetKey(["raw", "cal-alice", "events"]),
        AssetKey(["raw", "cal-two", "events"]),
        AssetKey("work_graph"),
    }
    schedules = {s.name: s.cron_schedule for s in defs.schedules or []}
    assert schedules == {
        "sync_cal_alice_schedule": "*/30 * * * *",
        "sync_cal_two_schedule": "5 * * * *",
    }
    job = defs.resolve_job_def("sync_cal_two")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        "raw/cal-two/events",
        "work_graph",
    }


def test_materialize_lands_normalizes_and_checks(
    db: Database, radicale: Radicale, now: datetime
) -> None:
    config, _ = _config_with(radicale)
    defs = build_definitions(
        config, Workhub(config=config, sessions_factory=db.sessions, clock=lambda: now)
    )
    result = materialize(
        [*defs.assets, *defs.asset_checks],  # type: ignore[list-item]
        resources=defs.resources,
    )
    assert result.success
    raw = result.asset_materializations_for_node("raw__cal_alice__events")[0]
    assert raw.metadata["new"].value == 1
    graph = result.asset_materializations_for_node("work_graph")[0]
    assert graph.metadata["new"].value == 1
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "items_have_source_and_url": True,
        "involvements_point_at_something": True,
        "nothing_quarantined": True,
    }


def test_a_failing_source_does_not_hold_back_the_others(
    db: Database, radicale: Radicale, now: datetime
) -> None:
    config, _ = _config_with(
        radicale, {"name": "cal-down", "kind": "caldav", "url": "http://127.0.0.1:9/"}
    )
    workhub = Workhub(config=config, sessions_factory=db.sessions, clock=lambda: now)
    report = run_sync(workhub)
    status = {(s.source, s.status) for s in report.streams}
    assert status == {("cal-alice", "success"), ("cal-down", "failed")}
    down = next(s for s in report.streams if s.source == "cal-down")
    assert down.error
    assert report.normalized is not None and report.normalized.new == 1
    assert not report.ok
