"""The Jira source: one site, the issues in scope, one `issues` stream.

Incremental by a watermark: each run asks for `<scope> AND updated >= "cursor - lookback"
ORDER BY updated ASC` and every page carries the latest `updated` it saw, so a killed sync
resumes there; the lookback and landing's content hashes absorb clock skew and issues
edited while we paged. Cloud pages `/search/jql` by nextPageToken, Server/Data Center
`/search` by startAt, both through `connectors.paging`.

Jira reports no deletions, so every `sweep_hours` (and on a first or `--full` sync) an
id-only listing of the scope comes *first*, as a page holding only a Snapshot: landing
tombstones what is gone, or refuses (mass-deletion guard) before anything else of the run
was written. The time of the last sweep lives in the cursor, in the server's own clock.

Each record is the issue exactly as the search returned it, wrapped with the few facts
about the site its reading needs (which custom fields hold story points, sprint and epic
link; Server or Cloud) and, when asked for and Jira cut them short, the full worklogs.
People whose address Jira Cloud hides (GDPR) get it from the bulk "Get user email" API
when the credential may use it (`lookup_hidden_emails`): the record's `emails` maps their
accountId to it, so normalizing stays a function of the record.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.jira.client import JiraApi
from connectors.jira.settings import JiraSourceConfig
from connectors.paging import OffsetPaginator, PageTokenPaginator, Paginator, paginate
from workhub.source_config import secret

__all__ = ["IssuesStream", "JiraSource", "Site", "parse_jira_time", "scope_jql"]

#: What a sync reads of an issue (the custom fields are added per site).
FIELDS = ("summary", "status", "priority", "issuetype", "project", "assignee", "reporter",
          "creator", "duedate", "created", "updated", "resolution", "resolutiondate",
          "parent", "issuelinks", "labels", "components", "timetracking", "timeestimate",
          "timeoriginalestimate", "timespent")
STORY_POINT_NAMES = ("story points", "story point estimate")
SWEEP_REASON = "not returned by Jira's search any more"
# Cloud answers up to 5,000 ids a page when nothing but ids is asked for.
_SWEEP_PAGE = 1000
#: The issue fields naming the people the normalizer keeps.
_PEOPLE = ("assignee", "reporter", "creator")
#: The most accountIds Cloud's bulk email lookup takes per request.
_EMAIL_BATCH = 100
_ORDER_BY = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)


def parse_jira_time(text: str) -> datetime:
    """A Jira timestamp (`2026-12-02T10:00:00.000+0000`) as an aware UTC datetime."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            continue
    moment = datetime.fromisoformat(text)  # ValueError names the bad text
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_jql(cfg: JiraSourceConfig) -> str:
    """The JQL condition of the source's scope ("" for everything the account sees)."""
    parts = []
    if cfg.projects:
        parts.append(f"project in ({', '.join(_quote(p) for p in cfg.projects)})")
    if cfg.jql and cfg.jql.strip():
        # Our own ORDER BY decides paging; the user's would clash with it.
        parts.append(f"({_ORDER_BY.sub('', cfg.jql.strip())})")
    return " AND ".join(parts)


@dataclass(frozen=True)
class Site:
    """What a sync needs to know about the Jira site, read once per run."""

    deployment: str
    server_time: datetime
    #: JQL dates are read in the searching user's own time zone
    user_zone: ZoneInfo
    story_points_fields: tuple[str, ...]
    sprint_field: str | None
    epic_link_field: str | None

    @property
    def cloud(self) -> bool:
        """True for Jira Cloud (page tokens, account ids)."""
        return self.deployment == "Cloud"

    def describe(self) -> dict[str, Any]:
        """The facts a record carries so that normalizing it needs no request."""
        return {"deployment": self.deployment,
                "story_points_fields": list(self.story_points_fields),
                "sprint_field": self.sprint_field, "epic_link_field": self.epic_link_field}


class IssuesStream(Stream):
    """Issues in scope, changed since the watermark; deletions by a periodic id sweep."""

    name = "issues"
    primary_key = "id"
    cursor_field = "updated"

    def __init__(self, source: JiraSource) -> None:
        self.source = source
        self.cfg = source.cfg

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        api = self.source.api
        counted = api.requests
        site = self.source.site()
        state = dict(cursor or {})
        watermark = _parse(state.get("updated"))
        swept_at = _parse(state.get("swept_at"))
        scope = scope_jql(self.cfg)
        sweep_due = (cursor is None or swept_at is None
                     or site.server_time - swept_at >= timedelta(hours=self.cfg.sweep_hours))
        # Without a watermark the search itself lists every issue in scope: its ids are the
        # sweep, so the separate id-only pass is saved (the snapshot then comes last).
        seen: set[str] | None = set() if watermark is None else None
        if sweep_due and seen is None:
            present = self._sweep(site, scope)
            swept_at = site.server_time
            state = {**state, "swept_at": swept_at.isoformat()}
            yield Page(snapshot=Snapshot("", present, reason=SWEEP_REASON,
                                         max_delete_share=self.cfg.max_delete_share),
                       cursor=dict(state), requests=api.requests - counted)
            counted = api.requests
        conditions = [scope] if scope else []
        if watermark is not None:
            since = (watermark - timedelta(minutes=self.cfg.lookback_minutes)).astimezone(
                site.user_zone)
            conditions.append(f'updated >= "{since:%Y/%m/%d %H:%M}"')
        jql = " AND ".join(conditions) + " ORDER BY updated ASC"
        fields = ",".join(self._fields(site))
        for response in self._search(site, jql, fields, self.cfg.page_size):
            records = []
            issues = response.get("issues") or []
            # One bulk lookup per page for the addresses the search hid (cached per run).
            emails = self.source.emails_of(a for i in issues for a in _hidden(i))
            for issue in issues:
                payload = self._payload(site, issue)
                known = {a: emails[a] for a in _hidden(issue) if a in emails}
                if known:
                    payload["emails"] = known
                records.append(RawItem(str(issue["id"]), payload))
                if seen is not None:
                    seen.add(str(issue["id"]))
                updated = _parse_lenient(issue.get("fields", {}).get("updated"))
                if updated is not None and (watermark is None or updated > watermark):
                    watermark = updated
            if watermark is not None:
                state["updated"] = watermark.isoformat()
            yield Page(records=records, cursor=dict(state), requests=api.requests - counted)
            counted = api.requests
        if seen is not None:
            state["swept_at"] = site.server_time.isoformat()
            yield Page(snapshot=Snapshot("", frozenset(seen), reason=SWEEP_REASON,
                                         max_delete_share=self.cfg.max_delete_share),
                       cursor=dict(state), requests=api.requests - counted)

    def _fields(self, site: Site) -> list[str]:
        custom = [*site.story_points_fields, site.sprint_field, site.epic_link_field]
        extra = ["worklog"] if self.cfg.worklogs else []
        return [*FIELDS, *(f for f in custom if f), *extra]

    def _search(self, site: Site, jql: str, fields: str, size: int) -> Iterator[dict[str, Any]]:
        """Pages of a search, the way this deployment pages."""
        api = self.source.api
        paginator: Paginator[dict[str, Any]]
        if site.cloud:
            paginator = PageTokenPaginator()

            def fetch(token: Any) -> dict[str, Any]:
                params = {"jql": jql, "maxResults": size, "fields": fields}
                if token:
                    params["nextPageToken"] = token
                result: dict[str, Any] = api.get("search/jql", params)
                return result
        else:
            paginator = OffsetPaginator(size)

            def fetch(token: Any) -> dict[str, Any]:
                result: dict[str, Any] = api.get(
                    "search", {"jql": jql, "startAt": token, "maxResults": size,
                               "fields": fields})
                return result
        return paginate(fetch, paginator)

    def _sweep(self, site: Site, scope: str) -> frozenset[str]:
        """The id of every issue in scope now (ids only: cheap even for large sites)."""
        ids: set[str] = set()
        for response in self._search(site, f"{scope} ORDER BY created ASC".strip(), "id",
                                     max(_SWEEP_PAGE, self.cfg.page_size)):
            ids.update(str(issue["id"]) for issue in response.get("issues") or [])
        return frozenset(ids)

    def _payload(self, site: Site, issue: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": str(issue["id"]), "site": site.describe(),
                                   "issue": issue}
        worklog = (issue.get("fields") or {}).get("worklog")
        if self.cfg.worklogs and isinstance(worklog, dict) and (
                int(worklog.get("total") or 0) > len(worklog.get("worklogs") or [])):
            # The search embeds only the first worklogs; the rest needs the issue's own list.
            payload["worklogs"] = self._worklogs(str(issue["id"]))
        return payload

    def _worklogs(self, issue_id: str) -> list[dict[str, Any]]:
        api = self.source.api

        def fetch(start: Any) -> dict[str, Any]:
            result: dict[str, Any] = api.get(f"issue/{issue_id}/worklog",
                                             {"startAt": start, "maxResults": 1000})
            return result

        return [log for page in paginate(fetch, OffsetPaginator(1000, items_key="worklogs"))
                for log in page.get("worklogs") or []]


def _hidden(issue: dict[str, Any]) -> list[str]:
    """accountIds of an issue's people whose address the search did not show."""
    fields = issue.get("fields") or {}
    users = (fields.get(name) for name in _PEOPLE)
    return [str(u["accountId"]) for u in users
            if isinstance(u, dict) and u.get("accountId") and not u.get("emailAddress")]


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _parse_lenient(value: Any) -> datetime | None:
    """A record's `updated`, or None when it is missing or malformed (the normalizer
    quarantines such a record; the watermark must not stop on it)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_jira_time(value)
    except ValueError:
        return None


class JiraSource(Source):
    """A Jira site (Cloud or Server/Data Center)."""

    kind = "jira"

    def __init__(self, cfg: JiraSourceConfig, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self.api = JiraApi(cfg.name, cfg.url, username=cfg.username, token=secret(cfg.token),
                           auth=cfg.auth, requests_per_hour=cfg.requests_per_hour,
                           max_wait=cfg.retry_max_wait_seconds, sleep=sleep)
        self._site: Site | None = None
        # accountId -> address (None: asked, none given); at most one lookup per run each.
        self._emails: dict[str, str | None] = {}
        self._email_lookup = cfg.lookup_hidden_emails

    def emails_of(self, accounts: Iterable[str]) -> dict[str, str]:
        """The addresses Cloud's bulk "Get user email" API gives for these accountIds.

        Each accountId is asked at most once per run, in batches of up to 100. A site or
        credential without the endpoint or the email permission (404 / 403) gives no
        evidence, and is not asked again this run; the sync goes on without it.
        """
        wanted = list(dict.fromkeys(accounts))
        unknown = [a for a in wanted if a not in self._emails]
        for start in range(0, len(unknown) if self._email_lookup else 0, _EMAIL_BATCH):
            batch = unknown[start:start + _EMAIL_BATCH]
            found = self.api.get("user/email/bulk", {"accountId": batch}, api_version=3,
                                 absent=(403, 404))
            if not isinstance(found, list):
                self._email_lookup = False
                break
            for row in found:
                if isinstance(row, dict) and row.get("accountId") and row.get("email"):
                    self._emails[str(row["accountId"])] = str(row["email"]).strip()
            for account in batch:
                self._emails.setdefault(account, None)
        return {a: e for a in wanted if (e := self._emails.get(a))}

    def site(self) -> Site:
        """The deployment, the server's clock, our user's zone and the custom fields."""
        if self._site is None:
            info = self.api.get("serverInfo")
            me = self.api.get("myself")
            catalogue = self.api.get("field")
            server_time = _parse_lenient(info.get("serverTime")) or datetime.now(UTC)
            try:
                zone = ZoneInfo(str(me.get("timeZone") or "UTC"))
            except (ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo("UTC")
            self._site = Site(
                deployment=str(info.get("deploymentType") or "Server"),
                server_time=server_time,
                user_zone=zone,
                story_points_fields=self._story_points(catalogue),
                sprint_field=_custom_field(catalogue, "gh-sprint", "sprint"),
                epic_link_field=_custom_field(catalogue, "gh-epic-link", "epic link"))
        return self._site

    def _story_points(self, catalogue: list[dict[str, Any]]) -> tuple[str, ...]:
        if self.cfg.story_points_field:
            return (self.cfg.story_points_field,)
        # A site may have both (company- and team-managed projects); the first set wins.
        found = [(STORY_POINT_NAMES.index(str(f.get("name", "")).lower()), str(f["id"]))
                 for f in catalogue if str(f.get("name", "")).lower() in STORY_POINT_NAMES]
        return tuple(fid for _, fid in sorted(found))

    def streams(self) -> list[Stream]:
        return [IssuesStream(self)]

    def close(self) -> None:
        self.api.close()


def _custom_field(catalogue: list[dict[str, Any]], kind: str, name: str) -> str | None:
    """A Jira Software custom field's id, by its type (else its name)."""
    for f in catalogue:
        if str((f.get("schema") or {}).get("custom", "")).endswith(f":{kind}"):
            return str(f["id"])
    for f in catalogue:
        if str(f.get("name", "")).lower() == name and f.get("custom"):
            return str(f["id"])
    return None
