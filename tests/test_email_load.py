"""Email load: every message counts in its week, requests or not, in the reader's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from conftest import Database
from model import Person
from model.queries.email_load import email_load
from pipelines.sync import sync_everything
from sandbox.ews import EwsStore, create_app
from sandbox.serve import serving
from test_exchange_sync import ALICE, BOB, CAROL, _config, _store

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_received_and_sent_counts_per_week(db: Database) -> None:
    store: EwsStore = _store()
    # Week 49 (from Monday 30 November, Berlin): Bob writes to Alice three times, Alice
    # answers once; a newsletter-like note from Carol to both also counts.
    for hours in (1, 2, 3):
        store.send_message(BOB, [ALICE], f"Question {hours}", sent=NOW - timedelta(hours=hours))
    store.send_message(ALICE, [BOB], "Answer", sent=NOW - timedelta(minutes=30))
    store.send_message(CAROL, [ALICE, BOB], "Weekly digest", sent=NOW - timedelta(days=1))
    # Sunday 29 November 23:30 Berlin is still week 48 there (22:30 UTC).
    store.send_message(BOB, [ALICE], "Late Sunday", sent=datetime(2026, 11, 29, 22, 30,
                                                                    tzinfo=UTC))
    with serving(create_app(store)) as url:
        sync_everything(db.sessions, _config(url), NOW)
    with db.sessions() as session:
        alice = session.scalars(select(Person).where(Person.email == ALICE)).one()
        load = email_load(session, alice, date(2026, 11, 23), 2)
    assert load[date(2026, 11, 30)] == (4, 1)  # three questions and the digest; one answer
    assert load[date(2026, 11, 23)] == (1, 0)  # the late Sunday message
