"""The EWS stand-in against the real exchangelib, and its responses against Microsoft's
published examples (tests/../shared/fixtures/ews)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    Account,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    FaultTolerance,
    Message,
)
from exchangelib.errors import (
    ErrorInvalidSyncStateData,
    ErrorNameResolutionNoResults,
    RateLimitError,
)
from exchangelib.extended_properties import Flag
from exchangelib.protocol import BaseProtocol
from exchangelib.version import Build, Version
from lxml import etree

from conftest import FIXTURES, NOW
from sandbox.ews import ENDPOINT, EwsStore, create_app, populate
from sandbox.ews.app import ExchangeFaults
from sandbox.ews.soap import MNS, SOAPNS, TNS
from sandbox.faults import FaultPlan
from sandbox.org import Organisation, generate_org
from sandbox.serve import serving

EWS_FIXTURES = FIXTURES / "ews"
UTC_TZ = EWSTimeZone("UTC")
ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def _ews(value: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(value.astimezone(UTC)).astimezone(UTC_TZ)


def _config(url: str, user: str, version: Version | None = None,
            max_wait: float = 5) -> Configuration:
    return Configuration(service_endpoint=url + ENDPOINT, credentials=Credentials(user, "secret"),
                         auth_type=BASIC, version=version,
                         retry_policy=FaultTolerance(max_wait=max_wait))


def _account(url: str, address: str, user: str | None = None, access: str = DELEGATE,
             version: Version | None = None) -> Account:
    return Account(primary_smtp_address=address, config=_config(url, user or address, version),
                   autodiscover=False, access_type=access)


def _small_store() -> EwsStore:
    """Three mailboxes with hand-made mail and a weekly series, for precise assertions."""
    store = EwsStore(clock=lambda: NOW)
    for address, name in ((ALICE, "Alice Adams"), (BOB, "Bob Brown"), (CAROL, "Carol Chen")):
        store.add_mailbox(address, name)
    for n in range(7):
        store.send_message(BOB, [ALICE], f"Request {n}", f"Please do thing {n}",
                           sent=NOW - timedelta(days=7 - n))
    store.send_message("news@example.net", [ALICE], "Newsletter", "news", sender_name="News",
                       sent=NOW - timedelta(hours=3))
    store.add_meeting(BOB, "Team sync", datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                      datetime(2026, 11, 2, 9, 30, tzinfo=UTC), required=[ALICE, CAROL],
                      recurrence={"Pattern": "Weekly", "Interval": 1, "DaysOfWeek": ["Monday"],
                                  "StartDate": "2026-11-02", "NumberOfOccurrences": 10},
                      timezone="Europe/Berlin")
    store.add_meeting(ALICE, "Dentist", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1),
                      sensitivity="Private")
    store.add_meeting(ALICE, "Vacation", datetime(2026, 12, 3, tzinfo=UTC),
                      datetime(2026, 12, 5, tzinfo=UTC), all_day=True, free_busy="OOF")
    return store


@pytest.fixture
def small() -> Iterator[tuple[EwsStore, str]]:
    """A fresh small store, served."""
    store = _small_store()
    with serving(create_app(store)) as url:
        yield store, url


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[EwsStore, Organisation, str]]:
    """A seeded organisation of 20 people, served for the module (read-only tests)."""
    org = generate_org(20, seed=11)
    store = EwsStore(clock=lambda: NOW)
    populate(store, org, random.Random(5), NOW)
    with serving(create_app(store)) as url:
        yield store, org, url


# ---------------------------------------------------------------- exchangelib end to end


def test_version_probe_then_inbox_with_chosen_fields(small: tuple[EwsStore, str]) -> None:
    _, url = small
    account = _account(url, ALICE)
    assert account.version.build == Build(15, 1, 2507, 6)
    assert account.version.api_version == "Exchange2016"
    qs = account.inbox.all().only("subject", "datetime_received", "is_read", "author")
    qs.page_size = 3  # forces IndexedPageItemView paging over three FindItem calls
    items = list(qs.order_by("-datetime_received"))
    assert [i.subject for i in items] == ["Newsletter"] + [f"Request {n}" for n in range(6, -1, -1)]
    assert items[0].author.email_address == "news@example.net"
    assert items[1].author.name == "Bob Brown" and items[1].is_read is False
    assert account.inbox.total_count == 8 and account.inbox.unread_count == 8
    full = account.inbox.get(subject="Request 3")
    assert full.body == "Please do thing 3" and full.to_recipients[0].email_address == ALICE
    assert full.conversation_id is not None and full.datetime_sent is not None
    account.protocol.close()


def test_fixed_version_skips_the_probe_and_impersonation_selects_the_mailbox(
        small: tuple[EwsStore, str]) -> None:
    _, url = small
    version = Version(build=Build(15, 1, 2507, 6))
    account = _account(url, BOB, user="svc-workhub@example.com", access=IMPERSONATION,
                       version=version)
    sent = list(account.sent.all().only("subject"))
    assert len(sent) == 7 and all(s.subject.startswith("Request") for s in sent)
    # Delegate access to someone else's mailbox names it in DistinguishedFolderId/Mailbox.
    carol = _account(url, CAROL, user=ALICE, version=version)
    assert [i.subject for i in carol.calendar.all().only("subject")] == ["Team sync"]
    account.protocol.close()


def test_calendar_view_expands_the_recurring_series(small: tuple[EwsStore, str]) -> None:
    _, url = small
    account = _account(url, ALICE)
    view = list(account.calendar.view(start=_ews(datetime(2026, 11, 9, tzinfo=UTC)),
                                      end=_ews(datetime(2026, 11, 30, tzinfo=UTC))))
    syncs = [i for i in view if i.subject == "Team sync"]
    assert [i.type for i in syncs] == ["Occurrence"] * 3
    # 10:00 Berlin: 09:00 UTC in November (no DST), every Monday.
    assert [i.start for i in syncs] == [_ews(datetime(2026, 11, d, 9, tzinfo=UTC))
                                        for d in (9, 16, 23)]
    assert len({i.id for i in syncs}) == 3 and syncs[0].organizer.email_address == BOB
    master = account.calendar.get(subject="Team sync")
    assert master.type == "RecurringMaster" and master.recurrence is not None
    assert master.recurrence.pattern.weekdays == [1]  # exchangelib numbers Monday as 1
    # Only the occurrence ids resolve back through GetItem.
    fetched = account.fetch(ids=[syncs[1]])
    occurrence = next(iter(fetched))
    assert isinstance(occurrence, type(master)) and occurrence.start == syncs[1].start
    december = list(account.calendar.view(start=_ews(NOW - timedelta(days=2)),
                                          end=_ews(NOW + timedelta(days=5))))
    vacation = next(i for i in december if i.subject == "Vacation")
    assert vacation.is_all_day and vacation.legacy_free_busy_status == "OOF"
    assert vacation.start == datetime(2026, 12, 3).date()
    dentist = next(i for i in december if i.subject == "Dentist")
    assert dentist.sensitivity == "Private" and dentist.type == "Single"
    account.protocol.close()


def test_sync_items_creates_then_updates_deletes_and_read_flags(
        small: tuple[EwsStore, str]) -> None:
    store, url = small
    account = _account(url, ALICE)
    inbox = account.inbox
    first = list(inbox.sync_items(only_fields=["subject", "is_read"], max_changes_returned=3))
    assert [kind for kind, _ in first] == ["create"] * 8
    state = inbox.item_sync_state
    assert list(inbox.sync_items(sync_state=state)) == []

    by_subject = {i["Subject"]: i["ItemId"] for i in store.folder_items(
        store.folder(ALICE, "inbox")["id"])}
    store.mark_read(by_subject["Request 0"])
    store.flag(by_subject["Request 1"], "Flagged", due=NOW + timedelta(days=2))
    store.delete_item(by_subject["Newsletter"])
    store.send_message(CAROL, [ALICE], "Fresh question")
    store.reply(by_subject["Request 2"], "on it")  # Alice answers: original updated

    changes = list(inbox.sync_items(sync_state=state, only_fields=["subject", "is_read"]))
    kinds: dict[str, Any] = {}
    for kind, item in changes:
        key = item[0].id if kind == "read_flag_change" else getattr(item, "id", None)
        kinds[key] = (kind, item)
    assert kinds[by_subject["Request 0"]][0] == "read_flag_change"
    assert kinds[by_subject["Request 0"]][1][1] is True
    assert kinds[by_subject["Request 1"]][0] == "update"
    assert kinds[by_subject["Request 2"]][0] == "update"
    assert kinds[by_subject["Newsletter"]][0] == "delete"
    created = [i for k, i in changes if k == "create"]
    assert [i.subject for i in created] == ["Fresh question"]
    # The reply went to Bob's inbox and Alice's Sent Items, not into her inbox.
    assert len(changes) == 5
    account.protocol.close()


def test_stale_sync_state_is_rejected(small: tuple[EwsStore, str]) -> None:
    store, url = small
    store.retain = 5
    account = _account(url, ALICE)
    list(account.inbox.sync_items(only_fields=["subject"]))
    state = account.inbox.item_sync_state
    for n in range(8):  # more changes than the folder's log keeps
        store.send_message(BOB, [ALICE], f"Later {n}")
    with pytest.raises(ErrorInvalidSyncStateData):
        list(account.inbox.sync_items(sync_state=state, only_fields=["subject"]))
    account.protocol.close()


def test_flag_and_answered_via_extended_properties(small: tuple[EwsStore, str]) -> None:
    store, url = small
    inbox_items = store.folder_items(store.folder(ALICE, "inbox")["id"])
    by_subject = {i["Subject"]: i["ItemId"] for i in inbox_items}
    store.flag(by_subject["Request 4"], "Flagged", due=NOW + timedelta(days=1))
    store.flag(by_subject["Request 5"], "Flagged")
    store.flag(by_subject["Request 5"], "Complete")
    store.reply(by_subject["Request 6"], "done")

    class LastVerb(Flag):
        """PR_LAST_VERB_EXECUTED."""

        property_tag = 0x1081

    Message.register("flag_status", Flag)
    Message.register("last_verb", LastVerb)
    try:
        account = _account(url, ALICE)
        got = {m.subject: m for m in account.inbox.all().only("subject", "flag_status",
                                                               "last_verb")}
        assert got["Request 4"].flag_status == 2 and got["Request 5"].flag_status == 1
        assert got["Request 3"].flag_status is None
        assert got["Request 6"].last_verb == 102 and got["Request 4"].last_verb is None
        account.protocol.close()
    finally:
        Message.deregister("flag_status")
        Message.deregister("last_verb")


def test_server_busy_makes_exchangelib_back_off_and_succeed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = _small_store()
    plan = FaultPlan(seed=3, rate_limits=0.4)
    app = create_app(store, plan, back_off_ms=20, back_off_missing=0.3)
    # Without BackOffMilliseconds exchangelib waits its own RETRY_WAIT (10 s by default).
    monkeypatch.setattr(BaseProtocol, "RETRY_WAIT", 0.02)
    with serving(app) as url:
        account = _account(url, ALICE, version=Version(build=Build(15, 1, 2507, 6)))
        subjects = sorted(i.subject for i in account.inbox.all().only("subject"))
        assert len(subjects) == 8
        assert sorted(i.subject for i in account.calendar.all().only("subject")) == [
            "Dentist", "Team sync", "Vacation"]
        account.protocol.close()
    faults = app.render  # type: ignore[attr-defined]
    assert isinstance(faults, ExchangeFaults)
    assert faults.throttled > faults.without_back_off >= 1  # both shapes were met


def test_server_busy_beyond_max_wait_surfaces() -> None:
    store = _small_store()
    app = create_app(store, FaultPlan(seed=1, rate_limits=1.0), back_off_ms=60_000)
    with serving(app) as url:
        account_config = _config(url, ALICE, Version(build=Build(15, 1, 2507, 6)), max_wait=1)
        account = Account(primary_smtp_address=ALICE, config=account_config,
                          autodiscover=False, access_type=DELEGATE)
        # A back-off longer than max_wait: exchangelib gives up instead of sleeping.
        with pytest.raises(RateLimitError, match="Max timeout"):
            list(account.inbox.all().only("subject"))
        account.protocol.close()


def _soap(body: str, impersonate: str | None = None) -> bytes:
    header = '<t:RequestServerVersion Version="Exchange2016"/>'
    if impersonate:
        header += (f"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>"
                   f"{impersonate}</t:PrimarySmtpAddress></t:ConnectingSID>"
                   "</t:ExchangeImpersonation>")
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAPNS}" '
            f'xmlns:m="{MNS}" xmlns:t="{TNS}"><s:Header>{header}</s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


FIND_INBOX = ('<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
              '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>'
              "</t:AdditionalProperties></m:ItemShape>"
              '<m:IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/>'
              '<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>'
              "</m:FindItem>")


def _statuses(seed: int) -> list[int]:
    app = create_app(_small_store(), FaultPlan(seed=seed, rate_limits=0.3, server_errors=0.1))
    with serving(app) as url, httpx.Client(auth=(ALICE, "x")) as client:
        return [client.post(url + ENDPOINT, content=_soap(FIND_INBOX)).status_code
                for _ in range(30)]


def test_same_fault_seed_gives_the_same_faults() -> None:
    first, again, other = _statuses(21), _statuses(21), _statuses(22)
    assert first == again and 500 in first and 200 in first
    assert first != other


def test_http_level_auth_throttle_and_error_shapes(small: tuple[EwsStore, str]) -> None:
    store, url = small
    response = httpx.post(url + ENDPOINT, content=_soap(FIND_INBOX))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    busy = create_app(store, FaultPlan(rate_limits=1.0, retry_after_seconds=2))
    broken = create_app(store, FaultPlan(server_errors=1.0))
    with serving(busy) as busy_url, serving(broken) as broken_url:
        throttled = httpx.post(busy_url + ENDPOINT, content=_soap(FIND_INBOX), auth=(ALICE, "x"))
        failed = httpx.post(broken_url + ENDPOINT, content=_soap(FIND_INBOX), auth=(ALICE, "x"))
        # Sandbox mutations are exempt from faults.
        assert httpx.get(busy_url + "/_sandbox/ews/mailboxes").status_code == 200
    assert throttled.status_code == 500 and failed.status_code == 500
    fault = etree.fromstring(throttled.content)
    assert _local_paths(fault.find(f"{{{SOAPNS}}}Body")) >= _local_paths(
        etree.parse(EWS_FIXTURES / "exchangelib-tests" /
                    "test_services__test_error_server_busy__1__Fault.xml"
                    ).getroot().find(f"{{{SOAPNS}}}Body"))
    assert fault.findtext(f".//{{{TNS}}}Value") == "2000"
    assert b"ErrorInternalServerTransientError" in failed.content


def test_sandbox_http_mutations(small: tuple[EwsStore, str]) -> None:
    store, url = small
    with httpx.Client(base_url=url + "/_sandbox/ews") as client:
        sent = client.post("/messages", json={"sender": CAROL, "to": [ALICE],
                                              "subject": "Via HTTP"}).json()
        assert sent["Subject"] == "Via HTTP"
        inbox = client.get(f"/mailboxes/{ALICE}/inbox").json()
        target = next(i for i in inbox if i["Subject"] == "Via HTTP")
        assert client.post(f"/items/{target['ItemId']}/flag",
                           json={"status": "Flagged", "due": "2026-12-04T17:00:00Z"}
                           ).json()["Flag"]["DueDate"] == "2026-12-04T17:00:00Z"
        uid = store.folder_items(store.folder(BOB, "calendar")["id"])[0]["UID"]
        assert client.post(f"/meetings/{uid}/respond",
                           json={"attendee": CAROL, "response": "Decline"}).status_code == 200
        assert client.delete(f"/items/{target['ItemId']}").status_code == 200
        assert client.post("/items/nope/read").status_code == 404
    organiser = next(i for i in store.copies(uid) if i["MyResponseType"] == "Organizer")
    assert {a["Mailbox"]["EmailAddress"]: a["ResponseType"]
            for a in organiser["RequiredAttendees"]}[CAROL] == "Decline"
    assert [i["Mailbox"] for i in store.copies(uid)] == [BOB, ALICE]


def test_meeting_moves_and_cancellation_reach_every_calendar(
        small: tuple[EwsStore, str]) -> None:
    store, url = small
    meeting = store.add_meeting(ALICE, "Planning", NOW + timedelta(days=1),
                                NOW + timedelta(days=1, hours=1), required=[BOB],
                                optional=[CAROL])
    store.move_meeting(meeting["UID"], NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    bob = _account(url, BOB)
    moved = bob.calendar.get(subject="Planning")
    assert moved.start == _ews(NOW + timedelta(days=2)) and moved.uid == meeting["UID"]
    assert moved.optional_attendees[0].mailbox.email_address == CAROL
    state_before = None
    list(bob.calendar.sync_items(only_fields=["subject"]))
    state_before = bob.calendar.item_sync_state
    store.cancel_meeting(meeting["UID"])
    changes = list(bob.calendar.sync_items(sync_state=state_before,
                                           only_fields=["subject", "is_cancelled"]))
    assert [(k, i.subject, i.is_cancelled) for k, i in changes] == [
        ("update", "Canceled: Planning", True)]
    assert not [i for i in store.copies(meeting["UID"]) if i["Mailbox"] == ALICE]
    bob.protocol.close()


def test_resolve_names(small: tuple[EwsStore, str]) -> None:
    _, url = small
    account = _account(url, ALICE, version=Version(build=Build(15, 1, 2507, 6)))
    resolved = account.protocol.resolve_names(["Carol"])
    assert [m.email_address for m in resolved] == [CAROL]
    # exchangelib hands back the "no results" warning as a value, not an exception.
    missing = account.protocol.resolve_names(["nobody-here"])
    assert [type(e) for e in missing] == [ErrorNameResolutionNoResults]
    several = account.protocol.resolve_names(["SMTP:bob@example.com"])
    assert [m.name for m in several] == ["Bob Brown"]
    account.protocol.close()


def test_seeded_organisation_reads_like_a_real_mailbox(
        seeded: tuple[EwsStore, Organisation, str]) -> None:
    _, org, url = seeded
    team = org.teams[0]
    manager = org.person(team.manager)
    member = org.person(team.members[1])
    account = _account(url, member.email)
    messages = list(account.inbox.all().only("subject", "author", "categories"))
    assert messages and all(m.author.email_address for m in messages)
    week = list(account.calendar.view(start=_ews(NOW - timedelta(days=7)), end=_ews(NOW)))
    sync = [i for i in week if i.subject == f"{team.name} weekly sync"]
    if sync:  # the member may have declined the series
        assert sync[0].organizer.email_address == manager.email
    organiser = _account(url, manager.email)
    master = organiser.calendar.get(subject=f"{team.name} weekly sync")
    responses = {a.response_type for a in master.required_attendees}
    assert responses <= {"Accept", "Tentative", "Decline"} and responses
    account.protocol.close()
    organiser.protocol.close()


# ---------------------------------------------------------------- store


def test_seed_is_deterministic_and_realistic(tmp_path: Path) -> None:
    org = generate_org(20, seed=11)
    dumps = []
    for run in range(2):
        store = EwsStore(clock=lambda: NOW)
        populate(store, org, random.Random(5), NOW)
        store.dump(tmp_path / str(run))
        dumps.append({p.name: p.read_text() for p in (tmp_path / str(run)).iterdir()})
    assert dumps[0] == dumps[1]
    items = list(store.items.values())
    messages = [i for i in items if i["Kind"] == "Message"]
    events = [i for i in items if i["Kind"] == "CalendarItem"]
    assert any(i["Flag"]["FlagStatus"] == "Flagged" and i["Flag"].get("DueDate") for i in messages)
    assert any(i["LastVerbExecuted"] for i in messages)
    assert any(not i["IsRead"] and not i["LastVerbExecuted"] and "Newsletter" not in i["Categories"]
               for i in messages)
    assert any("Newsletter" in i["Categories"] for i in messages)
    assert any(i["CalendarItemType"] == "RecurringMaster" for i in events)
    assert any(i["LegacyFreeBusyStatus"] == "OOF" and i["IsAllDayEvent"] for i in events)
    assert any(i["Sensitivity"] == "Private" for i in events)
    assert any(i["IsCancelled"] for i in events)
    masters = [i for i in events if i["MyResponseType"] == "Organizer" and i["IsMeeting"]]
    answers = {a["ResponseType"] for i in masters for a in i["RequiredAttendees"]}
    assert {"Decline", "Tentative", "Accept"} <= answers


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    store = _small_store()
    state = store.sync(store.folder(ALICE, "inbox")["id"], None, 100)[1]
    store.dump(tmp_path)
    again = EwsStore.load(tmp_path, clock=lambda: NOW)
    assert again.items == store.items and again.folders == store.folders
    again.send_message(BOB, [ALICE], "After load")
    changes, _, last = again.sync(again.folder(ALICE, "inbox")["id"], state, 100)
    assert [(k, i["Subject"]) for k, i in changes] == [("create", "After load")] and last


# ---------------------------------------------------------------- conformance


def _wellformed_table() -> dict[str, bool]:
    table = (FIXTURES / "SOURCES.md").read_text()
    rows = re.findall(r"^\| (\S+\.xml) \|.*\| (wellformed|NOT-wellformed) \|$", table, re.M)
    return {name: flag == "wellformed" for name, flag in rows}


def test_every_fixture_parses_exactly_when_sources_says_it_is_wellformed() -> None:
    table = _wellformed_table()
    files = sorted(EWS_FIXTURES.rglob("*.xml"))
    assert len(files) >= 30 and sum(not ok for ok in table.values()) == 4
    for path in files:
        # exchangelib's test strings are not in the table: they are server output, well-formed.
        expected = table.get(path.name, path.parent.name == "exchangelib-tests")
        try:
            etree.parse(str(path))
            parsed = True
        except etree.XMLSyntaxError:
            parsed = False
        assert parsed == expected, path.name


def _local_paths(root: etree._Element | None) -> set[tuple[str, ...]]:
    """Every element below `root` as a path of local names (namespaces ignored: some of
    Microsoft's samples use https:// for the SOAP namespace)."""
    paths: set[tuple[str, ...]] = set()

    def walk(elem: etree._Element, prefix: tuple[str, ...]) -> None:
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            path = (*prefix, etree.QName(child).localname)
            paths.add(path)
            walk(child, path)

    if root is not None:
        walk(root, ())
    return paths


def _response_messages(tree: etree._Element) -> etree._Element:
    found = tree.xpath("//*[local-name()='ResponseMessages']")
    assert found, "no ResponseMessages"
    return found[0]


def _assert_same_structure(ours: etree._Element, fixture: Path,
                           must_share: set[str]) -> None:
    mine = _local_paths(_response_messages(ours))
    theirs = _local_paths(_response_messages(etree.parse(str(fixture)).getroot()))
    names = {p[-1] for p in mine} & {p[-1] for p in theirs}
    assert must_share <= names, (fixture.name, must_share - names)
    for name in names:
        # Where both have an element, it sits under a parent the published example uses too
        # (parents, not whole paths: Microsoft nests e.g. Subject inside ConflictingMeetings).
        assert {p[-2:] for p in mine if p[-1] == name} & {p[-2:] for p in theirs
                                                          if p[-1] == name}, (fixture.name, name)


def _post(url: str, body: str, user: str = ALICE) -> etree._Element:
    response = httpx.post(url + ENDPOINT, content=_soap(body), auth=(user, "x"))
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.find(f"{{{SOAPNS}}}Header/{{{TNS}}}ServerVersionInfo") is not None
    return root


SHAPE = ("<m:ItemShape><t:BaseShape>{base}</t:BaseShape></m:ItemShape>")


def test_finditem_matches_published_examples(small: tuple[EwsStore, str]) -> None:
    _, url = small
    paged = _post(url, FIND_INBOX)
    root_folder = paged.xpath("//*[local-name()='RootFolder']")[0]
    assert set(root_folder.attrib) == {"IndexedPagingOffset", "TotalItemsInView",
                                       "IncludesLastItemInRange"}
    core = {"FindItemResponseMessage", "ResponseCode", "RootFolder", "Items", "ItemId", "Subject"}
    _assert_same_structure(paged, EWS_FIXTURES / "ms-docs" / "FindItem_paged_response_1.xml",
                           core | {"Message"})
    view = _post(url, '<m:FindItem Traversal="Shallow">' + SHAPE.format(base="Default")
                 + '<m:CalendarView StartDate="2026-11-01T00:00:00Z" '
                 'EndDate="2026-12-31T00:00:00Z"/>'
                 '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>'
                 "</m:FindItem>")
    for name in ("FindItem_CalendarView_response.xml",
                 "FindItem_recurring_occurrences_response.xml"):
        _assert_same_structure(view, EWS_FIXTURES / "ms-docs" / name,
                               core | {"CalendarItem", "Start", "End"})


def test_getitem_and_syncfolderitems_match_published_examples(
        small: tuple[EwsStore, str]) -> None:
    store, url = small
    message = store.folder_items(store.folder(ALICE, "inbox")["id"])[0]
    got = _post(url, "<m:GetItem>" + SHAPE.format(base="AllProperties")
                + f'<m:ItemIds><t:ItemId Id="{message["ItemId"]}"/></m:ItemIds></m:GetItem>')
    _assert_same_structure(got, EWS_FIXTURES / "ms-docs" / "GetItem_message_response_howto.xml",
                           {"GetItemResponseMessage", "Items", "Message", "ItemId", "Subject",
                            "ToRecipients", "Mailbox", "EmailAddress", "MailboxType"})
    master = next(i for i in store.folder_items(store.folder(ALICE, "calendar")["id"])
                  if i["Subject"] == "Team sync")
    cal = _post(url, "<m:GetItem>" + SHAPE.format(base="AllProperties")
                + f'<m:ItemIds><t:ItemId Id="{master["ItemId"]}"/></m:ItemIds></m:GetItem>')
    for name in ("GetItem_calendar_recurring_master_response.xml", "GetItem_calendar_ref_3.xml",
                 "GetItem_calendar_batch_response.xml", "GetItem_meeting_response.xml"):
        _assert_same_structure(cal, EWS_FIXTURES / "ms-docs" / name,
                               {"CalendarItem", "ItemId", "Subject"})
    _assert_same_structure(cal, EWS_FIXTURES / "ms-docs" /
                           "GetItem_calendar_recurring_master_response.xml",
                           {"Recurrence", "WeeklyRecurrence", "DaysOfWeek", "CalendarItemType"})
    sync_body = ("<m:SyncFolderItems>" + SHAPE.format(base="AllProperties")
                 + '<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>'
                 "<m:MaxChangesReturned>5</m:MaxChangesReturned></m:SyncFolderItems>")
    synced = _post(url, sync_body)
    docs = EWS_FIXTURES / "ms-docs"
    _assert_same_structure(synced, docs / "SyncFolderItems_response_howto_2.xml",
                           {"SyncFolderItemsResponseMessage", "SyncState",
                            "IncludesLastItemInRange", "Changes", "Create", "Message", "ItemId"})
    assert synced.findtext(f".//{{{MNS}}}IncludesLastItemInRange") == "false"
    stale = _post(url, sync_body.replace(
        "<m:MaxChangesReturned>", "<m:SyncState>bm9wZQ==</m:SyncState><m:MaxChangesReturned>"))
    _assert_same_structure(stale, docs / "SyncFolderItems_error_response_ref.xml",
                           {"MessageText", "ResponseCode", "DescriptiveLinkKey", "SyncState"})
    assert stale.findtext(f".//{{{MNS}}}ResponseCode") == "ErrorInvalidSyncStateData"
    resolved = _post(url, '<m:ResolveNames ReturnFullContactData="false">'
                     "<m:UnresolvedEntry>bob</m:UnresolvedEntry></m:ResolveNames>")
    _assert_same_structure(resolved, EWS_FIXTURES / "ms-docs" / "ResolveNames_response_ref.xml",
                           {"ResolutionSet", "Resolution", "Mailbox", "EmailAddress"})
    impersonated = _post(url, FIND_INBOX, user="svc@example.com")
    assert impersonated.findtext(f".//{{{MNS}}}ResponseCode") == "ErrorNonExistentMailbox"
    as_bob = etree.fromstring(httpx.post(url + ENDPOINT, content=_soap(FIND_INBOX, BOB),
                                         auth=("svc@example.com", "x")).content)
    assert as_bob.xpath("//*[local-name()='RootFolder']")[0].get("TotalItemsInView") == "0"
