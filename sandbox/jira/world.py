"""`JiraWorld`: the data half of the Jira stand-in's store, held as Jira REST v2 JSON.

Users, projects, issues (the objects Jira returns), each issue's changelog and the key
history of moved issues; `dump`/`load` as JSON Lines; and the bookkeeping every mutation
shares (bumping `updated`, writing changelog items, deriving time-tracking fields). The
mutations themselves are `sandbox.jira.store.JiraStore`'s methods.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from sandbox.compact import read_jsonl
from sandbox.jira.catalog import (
    FIELD_EPIC_LINK,
    FIELD_SPRINT,
    FIELD_STORY_POINTS,
    format_time,
    story_points_name,
)

__all__ = ["Clock", "JiraWorld", "format_duration", "parse_duration"]

Clock = Callable[[], datetime]
_DEPLOYMENTS = ("Server", "Cloud")
# Jira's default time-tracking settings: an 8-hour day, a 5-day week.
_UNITS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}

def parse_duration(text: str) -> int:
    """Seconds in a Jira duration such as `1w 2d 3h 30m`."""
    parts = re.findall(r"(\d+)\s*([wdhm])", text)
    if not parts or re.sub(r"[\d\swdhm]", "", text):
        raise ValueError(f"Invalid time duration entered: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: int) -> str:
    """A number of seconds the way Jira writes it (`1d 4h`, `0m`)."""
    out = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(out) or "0m"


def _default_clock() -> datetime:
    return datetime.now(UTC)


class JiraWorld:
    """Users, projects, issues and changelogs of one Jira site ("Server" or "Cloud")."""

    def __init__(self, deployment: str = "Cloud", clock: Clock | None = None,
                 base_url: str = "https://jira.example.com") -> None:
        if deployment not in _DEPLOYMENTS:
            raise ValueError(f"deployment must be one of {_DEPLOYMENTS}")
        self.deployment = deployment
        self.clock: Clock = clock or _default_clock
        #: the host written into `self` links; the app swaps in the URL it is served on
        self.base_url = base_url.rstrip("/")
        self.users: dict[str, dict[str, Any]] = {}  # accountId -> user record
        self.projects: dict[str, dict[str, Any]] = {}  # project key -> project JSON
        self.issues: dict[str, dict[str, Any]] = {}  # issue id -> issue JSON
        self.changelogs: dict[str, list[dict[str, Any]]] = {}  # issue id -> histories
        #: every key an issue ever had -> its id (a moved issue answers to its old key)
        self.keys: dict[str, str] = {}
        self.counters: dict[str, int] = {"issue": 10000, "history": 10000, "worklog": 10000,
                                         "link": 10000, "project": 10000}
        self.lock = threading.RLock()  # the app's event loop and the test thread share it
        #: bumped by every change, so that what is derived from the whole world (a
        #: search's sorted hits, the sub-task index) is computed once per state, not per
        #: page: a large world is then served in linear time
        self.revision = 0
        self._memo: dict[Any, Any] = {}
        self._memo_revision = -1
        #: bumped only when issues appear, go or change parent or type: what indexes the
        #: issues themselves (not their fields) survives every other edit
        self.structure = 0
        self._structural: dict[Any, tuple[int, Any]] = {}
        self._user_ids: dict[str, str] = {}  # lower-cased identifier -> accountId

    # ------------------------------------------------------------------ users, projects

    def add_user(self, account_id: str, display_name: str, email: str, *,
                 email_visible: bool = True, time_zone: str = "UTC",
                 name: str | None = None, active: bool = True) -> dict[str, Any]:
        """Add a user; `name` is the Server username (defaults to the email's local part)."""
        with self.lock:
            self.revision += 1
            record = {"accountId": account_id, "displayName": display_name,
                      "emailAddress": email, "emailVisible": email_visible,
                      "timeZone": time_zone, "active": active,
                      "name": name or email.split("@")[0],
                      "key": f"JIRAUSER{10000 + len(self.users)}"}
            self.users[account_id] = record
            self._index_user(record)
            return record

    def _index_user(self, record: dict[str, Any]) -> None:
        # Every identifier a user answers to: a search names its caller on every page,
        # and scanning 50,000 users for it cost more than the page itself.
        for key in ("accountId", "name", "key", "emailAddress"):
            self._user_ids.setdefault(str(record[key]).lower(), record["accountId"])

    def find_user(self, ident: str) -> dict[str, Any] | None:
        """The user record whose accountId, username, user key or email is `ident`."""
        account_id = self._user_ids.get(ident.lower())
        return self.users.get(account_id) if account_id else None

    def user_json(self, account_id: str) -> dict[str, Any]:
        """The user object as this deployment shows it (Cloud hides most emails)."""
        record = self.users[account_id]
        base = self.base_url
        avatars = self.avatars(record["key"])
        if self.deployment == "Cloud":
            out: dict[str, Any] = {
                "self": f"{base}/rest/api/2/user?accountId={account_id}",
                "accountId": account_id}
            if record["emailVisible"]:
                out["emailAddress"] = record["emailAddress"]
            out.update({"avatarUrls": avatars, "displayName": record["displayName"],
                        "active": record["active"], "timeZone": record["timeZone"],
                        "accountType": "atlassian"})
            return out
        return {"self": f"{base}/rest/api/2/user?username={record['name']}",
                "name": record["name"], "key": record["key"],
                "emailAddress": record["emailAddress"], "avatarUrls": avatars,
                "displayName": record["displayName"], "active": record["active"],
                "timeZone": record["timeZone"]}

    def avatars(self, owner: str) -> dict[str, str]:
        """A user's avatarUrls (the four sizes Jira always lists)."""
        return {f"{n}x{n}": f"{self.base_url}/secure/useravatar?size={n}&ownerId={owner}"
                for n in (48, 24, 16, 32)}

    def add_project(self, key: str, name: str, lead: str | None = None) -> dict[str, Any]:
        """Add a (company-managed, software) project."""
        with self.lock:
            self.revision += 1
            self.counters["project"] += 1
            pid = str(self.counters["project"])
            project = {"self": f"{self.base_url}/rest/api/2/project/{pid}", "id": pid,
                       "key": key, "name": name, "projectTypeKey": "software",
                       "simplified": False,
                       "avatarUrls": {f"{n}x{n}": f"{self.base_url}/secure/projectavatar"
                                      f"?size={n}&pid={pid}" for n in (48, 24, 16, 32)},
                       "projectCategory": {
                           "self": f"{self.base_url}/rest/api/2/projectCategory/10000",
                           "id": "10000", "description": "Product engineering teams",
                           "name": "Engineering"},
                       "lead": lead}
            self.projects[key] = project
            self.counters[f"project:{key}"] = 0
            return project

    def project_ref(self, key: str) -> dict[str, Any]:
        """The project object an issue embeds."""
        return {k: v for k, v in self.projects[key].items() if k != "lead"}

    # ------------------------------------------------------------------ issues

    def get(self, key_or_id: str) -> dict[str, Any]:
        """The stored issue with this key (current or former) or id; KeyError if gone."""
        with self.lock:
            issue_id = key_or_id if key_or_id.isdigit() else self.keys.get(key_or_id.upper())
            if issue_id is None or issue_id not in self.issues:
                raise KeyError("Issue does not exist or you do not have permission to see it.")
            return self.issues[issue_id]

    # ------------------------------------------------------------------ persistence

    def dump(self, folder: Path) -> None:
        """Write the world as JSON Lines files (meta, users, projects, issues, changelog)."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            meta = {"deployment": self.deployment, "base_url": self.base_url,
                    "counters": self.counters, "keys": self.keys}
            tables: dict[str, Iterable[Any]] = {
                "meta": [meta], "users": self.users.values(),
                "projects": self.projects.values(), "issues": self.issues.values(),
                "changelog": ({"issueId": i, **h} for i, hs in self.changelogs.items()
                              for h in hs)}
            for name, rows in tables.items():
                with (folder / f"{name}.jsonl").open("w") as out:
                    out.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)

    @classmethod
    def load(cls, folder: Path, clock: Clock | None = None) -> Self:
        """Read what `dump` wrote."""

        def rows(name: str) -> list[dict[str, Any]]:
            return read_jsonl(folder / f"{name}.jsonl")

        meta = rows("meta")[0]
        store = cls(meta["deployment"], clock, meta["base_url"])
        store.counters, store.keys = meta["counters"], meta["keys"]
        store.users = {u["accountId"]: u for u in rows("users")}
        for record in store.users.values():
            store._index_user(record)
        store.projects = {p["key"]: p for p in rows("projects")}
        store.issues = {i["id"]: i for i in rows("issues")}
        store.changelogs = {i: [] for i in store.issues}
        for history in rows("changelog"):
            store.changelogs[history.pop("issueId")].append(history)
        return store

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """`build()`, computed once per revision of the world and `key`."""
        with self.lock:
            if self._memo_revision != self.revision or len(self._memo) > 64:
                self._memo.clear()
                self._memo_revision = self.revision
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def memo_structure(self, key: Any, build: Callable[[], Any]) -> Any:
        """`build()`, computed once per `structure` (an index of issue objects, which
        edits change in place, stays valid until issues come, go or move)."""
        with self.lock:
            known = self._structural.get(key)
            if known is None or known[0] != self.structure:
                known = (self.structure, build())
                self._structural[key] = known
            return known[1]

    # ------------------------------------------------------------------ internals

    def _touch(self, issue: dict[str, Any], items: list[dict[str, Any]],
               author: str | None, at: datetime | None) -> None:
        """Bump `updated` and record one changelog history with `items`."""
        moment = at or self.clock()
        self.revision += 1
        issue["fields"]["updated"] = format_time(moment)
        self.counters["history"] += 1
        self.changelogs[issue["id"]].append({
            "id": str(self.counters["history"]),
            "author": self.user_json(author) if author in self.users else None,
            "created": format_time(moment), "items": items})

    def _item(self, name: str, old: Any, new: Any) -> dict[str, Any]:
        """A changelog item: ids in from/to, display values in fromString/toString."""
        custom = name.startswith("customfield_")
        label = {FIELD_STORY_POINTS: story_points_name(self.deployment),
                 FIELD_EPIC_LINK: "Epic Link", FIELD_SPRINT: "Sprint"}.get(name, name)

        def ident(value: Any) -> Any:
            if isinstance(value, dict):
                return value.get("accountId") or value.get("name") or value.get("id")
            return None if value is None else str(value)

        def show(value: Any) -> Any:
            if isinstance(value, dict):
                return value.get("displayName") or value.get("name") or value.get("key")
            if isinstance(value, list):
                return " ".join(show(v) for v in value)
            return None if value is None else str(value)

        return {"field": label, "fieldtype": "custom" if custom else "jira", "fieldId": name,
                "from": ident(old), "fromString": show(old),
                "to": ident(new), "toString": show(new)}

    def _set_parent(self, issue: dict[str, Any], parent_key: str | None) -> None:
        self.structure += 1
        if not parent_key:
            issue["fields"].pop("parent", None)
            return
        parent = self.get(parent_key)
        issue["fields"]["parent"] = {"id": parent["id"], "key": parent["key"],
                                     "self": parent["self"]}

    def _set_estimate(self, issue: dict[str, Any], original: str | int | None,
                      remaining: str | int | None) -> None:
        tracking = issue["fields"]["timetracking"]
        if original is not None:
            seconds = original if isinstance(original, int) else parse_duration(original)
            tracking["originalEstimateSeconds"] = seconds
            tracking["originalEstimate"] = format_duration(seconds)
            if remaining is None and "remainingEstimateSeconds" not in tracking:
                remaining = seconds
        if remaining is not None:
            seconds = remaining if isinstance(remaining, int) else parse_duration(remaining)
            tracking["remainingEstimateSeconds"] = seconds
            tracking["remainingEstimate"] = format_duration(seconds)

    def _derive(self, issue: dict[str, Any]) -> None:
        """Recompute the fields Jira derives from time tracking and work logs."""
        fields = issue["fields"]
        tracking = fields["timetracking"]
        spent = sum(w["timeSpentSeconds"] for w in fields["worklog"]["worklogs"])
        if spent:
            tracking["timeSpentSeconds"] = spent
            tracking["timeSpent"] = format_duration(spent)
        fields["timeoriginalestimate"] = tracking.get("originalEstimateSeconds")
        fields["timeestimate"] = tracking.get("remainingEstimateSeconds")
        fields["timespent"] = spent or None
        for name in ("timeoriginalestimate", "timeestimate", "timespent"):
            fields[f"aggregate{name}"] = fields[name]
        total = spent + (fields["timeestimate"] or 0)
        percent = round(100 * spent / total) if total else None
        progress = {"progress": spent, "total": total}
        if percent is not None:
            progress["percent"] = percent
        fields["progress"] = fields["aggregateprogress"] = progress

    def _sprint_value(self, sprint: dict[str, Any]) -> Any:
        """Cloud shows sprints as objects; Server (REST v2) as GreenHopper's toString."""
        if self.deployment == "Cloud":
            return sprint
        return ("com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c"
                f"[id={sprint['id']},rapidViewId={sprint.get('boardId')},"
                f"state={str(sprint.get('state', 'active')).upper()},name={sprint['name']},"
                f"startDate={sprint.get('startDate', '<null>')},"
                f"endDate={sprint.get('endDate', '<null>')},"
                f"goal={sprint.get('goal', '')},sequence={sprint['id']}]")
