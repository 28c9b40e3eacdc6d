"""`JiraStore`: the Jira stand-in's world and the changes made to it between syncs.

Issues are stored as the issue objects Jira returns (`fields.summary`, `fields.status`
...; see `sandbox.jira.world`). Mutations — create, edit, reassign, transition/close,
delete, move, link, add_worklog — bump `updated` from the injectable clock and write
changelog histories the way Jira does, so a connector's incremental sync
(`updated >= ...`) sees them. How an issue is *shown* (field selection, live link
targets, sub-tasks) lives in `sandbox.jira.views`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sandbox.jira.catalog import (
    FIELD_EPIC_LINK,
    FIELD_SPRINT,
    FIELD_STORY_POINTS,
    ISSUE_TYPES,
    STATUSES,
    format_time,
    issuetype_json,
    link_type_json,
    priority_json,
    status_json,
)
from sandbox.jira.world import JiraWorld, format_duration

__all__ = ["JiraStore"]


class JiraStore(JiraWorld):
    """Projects, users, issues and changelogs of one Jira site ("Server" or "Cloud"),
    with the mutations that change it."""

    def create_issue(self, project: str, summary: str, *, issuetype: str = "Task",
                     status: str = "To Do", priority: str = "Medium",
                     assignee: str | None = None, reporter: str | None = None,
                     description: str | None = None, duedate: date | str | None = None,
                     labels: Iterable[str] = (), components: Iterable[str] = (),
                     parent: str | None = None, epic: str | None = None,
                     story_points: float | None = None,
                     original_estimate: str | int | None = None,
                     sprint: dict[str, Any] | None = None,
                     at: datetime | None = None) -> dict[str, Any]:
        """Create an issue (keys count up per project); returns the stored JSON."""
        with self.lock:
            if project not in self.projects:
                raise ValueError(f"project '{project}' does not exist")
            if issuetype not in ISSUE_TYPES or status not in STATUSES:
                raise ValueError(f"unknown issue type {issuetype!r} or status {status!r}")
            moment = at or self.clock()
            self.counters["issue"] += 1
            issue_id = str(self.counters["issue"])
            self.counters[f"project:{project}"] += 1
            key = f"{project}-{self.counters[f'project:{project}']}"
            base = self.base_url
            stamp = format_time(moment)
            reporter_json = self.user_json(reporter) if reporter else None
            fields: dict[str, Any] = {
                "summary": summary, "description": description,
                "project": self.project_ref(project),
                "issuetype": issuetype_json(issuetype, base),
                "status": status_json("To Do", base), "statuscategorychangedate": stamp,
                "priority": priority_json(priority, base),
                "resolution": None, "resolutiondate": None,
                "assignee": self.user_json(assignee) if assignee else None,
                "reporter": reporter_json, "creator": reporter_json,
                "created": stamp, "updated": stamp,
                "duedate": str(duedate) if duedate else None,
                "labels": sorted(labels),
                "components": [{"self": f"{base}/rest/api/2/component/{name}", "name": name}
                               for name in components],
                "issuelinks": [], "subtasks": [],
                "timetracking": {}, "worklog": {"startAt": 0, "maxResults": 20, "total": 0,
                                                "worklogs": []},
                "timeoriginalestimate": None, "timeestimate": None, "timespent": None,
                "fixVersions": [], "versions": [], "environment": None, "security": None,
                "lastViewed": None, "workratio": -1,
                "watches": {"self": f"{base}/rest/api/2/issue/{key}/watchers",
                            "watchCount": 0, "isWatching": False},
                "votes": {"self": f"{base}/rest/api/2/issue/{key}/votes", "votes": 0,
                          "hasVoted": False},
                "comment": {"comments": [], "self": f"{base}/rest/api/2/issue/{issue_id}/comment",
                            "maxResults": 0, "total": 0, "startAt": 0},
                "issuerestriction": {"issuerestrictions": {}, "shouldDisplay": False},
                "attachment": [],
                FIELD_EPIC_LINK: None, FIELD_STORY_POINTS: story_points, FIELD_SPRINT: None,
            }
            issue = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                               "versionedRepresentations",
                     "id": issue_id, "self": f"{base}/rest/api/2/issue/{issue_id}",
                     "key": key, "fields": fields}
            self.revision += 1
            self.structure += 1
            self.issues[issue_id] = issue
            self.keys[key] = issue_id
            self.changelogs[issue_id] = []
            if parent:
                self._set_parent(issue, parent)
            if epic:
                fields[FIELD_EPIC_LINK] = self.get(epic)["key"]
            if original_estimate is not None:
                self._set_estimate(issue, original_estimate, None)
            if sprint is not None:
                fields[FIELD_SPRINT] = [self._sprint_value(sprint)]
            self._derive(issue)
            if status != "To Do":
                # Jira creates every issue in the workflow's initial status, then moves it.
                self.transition(key, status, at=moment, author=reporter)
            return issue

    def edit(self, key: str, fields: dict[str, Any], *, author: str | None = None,
             at: datetime | None = None) -> dict[str, Any]:
        """Set any fields (`summary`, `priority`, `assignee`, `duedate`, `labels`,
        `timetracking`, `story_points`/customfield ids, `status` ...); logs the change."""
        with self.lock:
            issue = self.get(key)
            current = issue["fields"]
            base = self.base_url
            items: list[dict[str, Any]] = []
            for name, value in fields.items():
                if name == "status":
                    self.transition(key, value if isinstance(value, str) else value["name"],
                                    author=author, at=at)
                    continue
                if name == "assignee":
                    self.reassign(key, _ident(value, "accountId"), author=author, at=at)
                    continue
                old = copy.deepcopy(current.get(name))
                if name in ("summary", "description", "environment"):
                    current[name] = value
                elif name == "duedate":
                    current[name] = str(value) if value else None
                elif name == "labels":
                    current[name] = sorted(value)
                elif name == "priority":
                    current[name] = priority_json(_ident(value, "name") or "Medium", base)
                elif name == "issuetype":
                    current[name] = issuetype_json(_ident(value, "name") or "Task", base)
                    self.structure += 1
                elif name == "reporter":
                    ident = _ident(value, "accountId")
                    current[name] = self.user_json(ident) if ident else None
                elif name == "components":
                    current[name] = [{"self": f"{base}/rest/api/2/component/{c}", "name": c}
                                     for c in (_ident(v, "name") for v in value)]
                elif name == "timetracking":
                    self._set_estimate(issue, value.get("originalEstimateSeconds",
                                                        value.get("originalEstimate")),
                                       value.get("remainingEstimateSeconds",
                                                 value.get("remainingEstimate")))
                elif name == "parent":
                    self._set_parent(issue, _ident(value, "key"))
                elif name in ("story_points", FIELD_STORY_POINTS):
                    name = FIELD_STORY_POINTS
                    current[name] = value
                elif name in ("epic", FIELD_EPIC_LINK):
                    name = FIELD_EPIC_LINK
                    current[name] = self.get(value)["key"] if value else None
                elif name in ("sprint", FIELD_SPRINT):
                    name = FIELD_SPRINT
                    current[name] = [self._sprint_value(value)] if value else None
                elif name.startswith("customfield_"):
                    current[name] = value
                else:
                    raise ValueError(f"Field '{name}' cannot be set. It is not on the "
                                     "appropriate screen, or unknown.")
                if old != current.get(name):
                    items.append(self._item(name, old, current.get(name)))
            self._derive(issue)
            if items:
                self._touch(issue, items, author, at)
            return issue

    def reassign(self, key: str, account_id: str | None, *, author: str | None = None,
                 at: datetime | None = None) -> dict[str, Any]:
        """Assign to `account_id` (or unassign with None)."""
        with self.lock:
            issue = self.get(key)
            old = issue["fields"]["assignee"]
            record = self.find_user(account_id) if account_id else None
            if account_id and record is None:
                raise ValueError(f"User '{account_id}' does not exist.")
            new = self.user_json(record["accountId"]) if record else None
            if (old or {}).get("self") != (new or {}).get("self"):
                issue["fields"]["assignee"] = new
                self._touch(issue, [self._item("assignee", old, new)], author, at)
            return issue

    def transition(self, key: str, status: str, *, author: str | None = None,
                   at: datetime | None = None) -> dict[str, Any]:
        """Move to `status`; a done-category status sets resolution and resolutiondate."""
        with self.lock:
            if status not in STATUSES:
                raise ValueError(f"status '{status}' does not exist")
            issue = self.get(key)
            fields = issue["fields"]
            old = fields["status"]
            if old["name"] == status:
                return issue
            moment = at or self.clock()
            fields["status"] = status_json(status, self.base_url)
            items = [self._item("status", old, fields["status"])]
            if old["statusCategory"]["key"] != fields["status"]["statusCategory"]["key"]:
                fields["statuscategorychangedate"] = format_time(moment)
            done = STATUSES[status][1] == "done"
            if done and fields["resolution"] is None:
                fields["resolution"] = {"self": f"{self.base_url}/rest/api/2/resolution/10000",
                                        "id": "10000", "description": "Work has been done.",
                                        "name": "Done"}
                fields["resolutiondate"] = format_time(moment)
                items.append(self._item("resolution", None, fields["resolution"]))
            elif not done and fields["resolution"] is not None:
                items.append(self._item("resolution", fields["resolution"], None))
                fields["resolution"] = fields["resolutiondate"] = None
            self._touch(issue, items, author, moment)
            return issue

    def close(self, key: str, *, author: str | None = None,
              at: datetime | None = None) -> dict[str, Any]:
        """Transition to Done (resolution Done, resolutiondate now)."""
        return self.transition(key, "Done", author=author, at=at)

    def delete(self, key: str) -> None:
        """Delete an issue and its sub-tasks: they 404 and vanish from search."""
        with self.lock:
            self.revision += 1
            self.structure += 1
            issue = self.get(key)
            doomed = {issue["id"]} | {i["id"] for i in self.issues.values()
                                      if (i["fields"].get("parent") or {}).get("id")
                                      == issue["id"]}
            gone_keys = {k for k, v in self.keys.items() if v in doomed}
            for issue_id in doomed:
                del self.issues[issue_id]
                self.changelogs.pop(issue_id, None)
            for k in gone_keys:
                del self.keys[k]
            for other in self.issues.values():
                # Links to the deleted issue disappear; epic links to it are cleared.
                other["fields"]["issuelinks"] = [
                    link for link in other["fields"]["issuelinks"]
                    if (link.get("inwardIssue") or link.get("outwardIssue"))["id"] not in doomed]
                if other["fields"][FIELD_EPIC_LINK] in gone_keys:
                    other["fields"][FIELD_EPIC_LINK] = None

    def move(self, key: str, project: str, *, author: str | None = None,
             at: datetime | None = None) -> dict[str, Any]:
        """Move to another project: a new key; the old key keeps resolving to it, as in
        Jira. Sub-tasks move along."""
        with self.lock:
            issue = self.get(key)
            if project not in self.projects:
                raise ValueError(f"project '{project}' does not exist")
            old_key, old_project = issue["key"], issue["fields"]["project"]
            if old_project["key"] == project:
                return issue
            self.counters[f"project:{project}"] += 1
            new_key = f"{project}-{self.counters[f'project:{project}']}"
            issue["key"] = new_key
            issue["fields"]["project"] = self.project_ref(project)
            self.keys[new_key] = issue["id"]
            for other in self.issues.values():
                if other["fields"][FIELD_EPIC_LINK] == old_key:
                    other["fields"][FIELD_EPIC_LINK] = new_key
            self._touch(issue, [
                {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old_key,
                 "to": None, "toString": new_key},
                {"field": "project", "fieldtype": "jira", "fieldId": "project",
                 "from": old_project["id"], "fromString": old_project["name"],
                 "to": issue["fields"]["project"]["id"],
                 "toString": issue["fields"]["project"]["name"]}], author, at)
            for child in list(self.issues.values()):
                if (child["fields"].get("parent") or {}).get("id") == issue["id"]:
                    self.move(child["key"], project, author=author, at=at)
            return issue

    def link(self, key: str, other: str, link_type: str = "Blocks", *,
             author: str | None = None, at: datetime | None = None) -> None:
        """Link: `key` <outward verb> `other`, e.g. A-1 blocks A-2."""
        with self.lock:
            source, target = self.get(key), self.get(other)
            self.counters["link"] += 1
            lid = str(self.counters["link"])
            kind = link_type_json(link_type, self.base_url)
            common = {"id": lid, "self": f"{self.base_url}/rest/api/2/issueLink/{lid}",
                      "type": kind}
            source["fields"]["issuelinks"].append(
                {**common, "outwardIssue": {"id": target["id"], "key": target["key"]}})
            target["fields"]["issuelinks"].append(
                {**common, "inwardIssue": {"id": source["id"], "key": source["key"]}})
            for issue, verb, peer in ((source, kind["outward"], target),
                                      (target, kind["inward"], source)):
                self._touch(issue, [{"field": "Link", "fieldtype": "jira", "from": None,
                                     "fromString": None, "to": peer["key"],
                                     "toString": f"This issue {verb} {peer['key']}"}],
                            author, at)

    def add_worklog(self, key: str, author: str, seconds: int, *,
                    started: datetime | None = None, comment: str = "",
                    at: datetime | None = None) -> dict[str, Any]:
        """Log work; reduces the remaining estimate (never below zero) like Jira's 'auto'."""
        with self.lock:
            issue = self.get(key)
            moment = at or self.clock()
            self.counters["worklog"] += 1
            wid = str(self.counters["worklog"])
            user = self.user_json(author)
            entry = {"self": f"{self.base_url}/rest/api/2/issue/{issue['id']}/worklog/{wid}",
                     "author": user, "updateAuthor": user, "comment": comment,
                     "created": format_time(moment), "updated": format_time(moment),
                     "started": format_time(started or moment),
                     "timeSpent": format_duration(seconds), "timeSpentSeconds": seconds,
                     "id": wid, "issueId": issue["id"]}
            fields = issue["fields"]
            fields["worklog"]["worklogs"].append(entry)
            fields["worklog"]["total"] = len(fields["worklog"]["worklogs"])
            old_spent = fields["timespent"]
            tracking = fields["timetracking"]
            if "remainingEstimateSeconds" in tracking:
                remaining = max(0, tracking["remainingEstimateSeconds"] - seconds)
                tracking["remainingEstimateSeconds"] = remaining
                tracking["remainingEstimate"] = format_duration(remaining)
            self._derive(issue)
            self._touch(issue, [{"field": "timespent", "fieldtype": "jira",
                                 "fieldId": "timespent", "from": old_spent,
                                 "fromString": old_spent, "to": str(fields["timespent"]),
                                 "toString": str(fields["timespent"])},
                                {"field": "WorklogId", "fieldtype": "jira", "from": None,
                                 "fromString": None, "to": wid, "toString": wid}],
                        author, moment)
            return entry

def _ident(value: Any, key: str) -> Any:
    """Accept both `"name"` and `{"name": ...}` (the REST edit format)."""
    return value.get(key) if isinstance(value, dict) else value
