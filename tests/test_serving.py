"""The API's own sessions: reads hold no transaction, and a token's use is still stored."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.app import create_app
from calendars import vcalendar, vevent
from conftest import Database, Radicale
from helpers import caldav_config, token_for
from model import ApiToken
from pipelines.sync import sync_everything
from workhub.serving import api_sessions


def test_the_api_reads_in_autocommit_and_records_a_tokens_use(
    shared_db: Database, radicale: Radicale, now: datetime
) -> None:
    user = radicale.new_user()
    radicale.make_calendar(user)
    radicale.put(user, "work", "m", vcalendar(vevent("m", "20261201T100000Z",
                                                     "20261201T110000Z", "Planning")))
    config = caldav_config(radicale.url, {user: "bob"}).model_copy(
        update={"database_url": shared_db.url})
    sync_everything(shared_db.sessions, config, now)
    token = token_for(shared_db.sessions, "bob")
    sessions = api_sessions(config)
    with TestClient(create_app(sessions, config, clock=lambda: now),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(7):  # psycopg prepares a statement on its fifth use
            answer = client.get("/v1/people/bob/work")
            assert answer.status_code == 200
            assert [i["title"] for i in answer.json()["items"]] == ["Planning"]
    # Written through the API's sessions, seen from another connection: committed.
    with shared_db.sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at)) == now
    with sessions() as session:
        session.execute(select(ApiToken.id)).all()
        driver = session.connection().connection.dbapi_connection
        if shared_db.dialect == "postgresql":
            # A read leaves no transaction open, so a request ends without a ROLLBACK,
            # and the statements the requests prepared on this pooled connection are
            # still there (psycopg forgets them at every ROLLBACK).
            assert driver.info.transaction_status.name == "IDLE"  # type: ignore[union-attr]
            prepared = session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared is not None and prepared >= 3
        else:
            assert not driver.in_transaction  # type: ignore[union-attr]
    sessions.kw["bind"].dispose()
