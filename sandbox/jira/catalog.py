"""The fixed parts of the Jira stand-in's world: statuses, priorities, issue types, link
types, the field catalogue (with the custom fields a client looks up by name) and the
Jira timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FIELD_EPIC_LINK",
    "FIELD_SPRINT",
    "FIELD_STORY_POINTS",
    "ISSUE_TYPES",
    "LINK_TYPES",
    "PRIORITIES",
    "STATUSES",
    "field_catalogue",
    "format_time",
    "issuetype_json",
    "link_type_json",
    "parse_time",
    "priority_json",
    "status_json",
    "story_points_name",
]

#: "Epic Link" (Jira Software, company-managed projects; Server and Cloud).
FIELD_EPIC_LINK = "customfield_10014"
#: "Story Points" on Server / "Story point estimate" on Cloud.
FIELD_STORY_POINTS = "customfield_10016"
#: "Sprint" (Jira Software).
FIELD_SPRINT = "customfield_10020"

# name -> (id, category key); "Blocked" is a site-specific status as many sites have.
STATUSES: dict[str, tuple[str, str]] = {
    "Backlog": ("10000", "new"),
    "To Do": ("10001", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10002", "indeterminate"),
    "Blocked": ("10003", "indeterminate"),
    "Done": ("10004", "done"),
}
# category key -> (id, name, colorName), as Jira's /statuscategory lists them
_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4",
                              "Lowest": "5"}
# name -> (id, subtask, hierarchyLevel)
ISSUE_TYPES: dict[str, tuple[str, bool, int]] = {
    "Epic": ("10000", False, 1),
    "Story": ("10001", False, 0),
    "Task": ("10002", False, 0),
    "Bug": ("10004", False, 0),
    "Sub-task": ("10003", True, -1),
}
# name -> (id, inward, outward)
LINK_TYPES: dict[str, tuple[str, str, str]] = {
    "Blocks": ("10000", "is blocked by", "blocks"),
    "Cloners": ("10001", "is cloned by", "clones"),
    "Duplicate": ("10002", "is duplicated by", "duplicates"),
    "Relates": ("10003", "relates to", "relates to"),
}


def format_time(moment: datetime) -> str:
    """Jira's timestamp format, e.g. `2026-12-02T10:00:00.000+0000` (always UTC here)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_time(text: str) -> datetime:
    """Read a Jira timestamp back into an aware datetime."""
    # fromisoformat reads this format (3.11 on) some 75 times faster than strptime; a JQL
    # date clause reads every issue's timestamp, which made each such search of a
    # 65,000-issue site cost the stand-in about a second.
    return datetime.fromisoformat(text)


def story_points_name(deployment: str) -> str:
    """What the story-points field is called: Cloud renamed it for next-gen boards."""
    return "Story point estimate" if deployment == "Cloud" else "Story Points"


def status_json(name: str, base: str) -> dict[str, Any]:
    """The status object an issue embeds."""
    status_id, category = STATUSES[name]
    cat_id, cat_name, colour = _CATEGORIES[category]
    return {"self": f"{base}/rest/api/2/status/{status_id}", "description": "",
            "iconUrl": f"{base}/images/icons/statuses/generic.png", "name": name,
            "id": status_id,
            "statusCategory": {"self": f"{base}/rest/api/2/statuscategory/{cat_id}",
                               "id": cat_id, "key": category, "colorName": colour,
                               "name": cat_name}}


def priority_json(name: str, base: str) -> dict[str, Any]:
    """The priority object an issue embeds."""
    pid = PRIORITIES[name]
    return {"self": f"{base}/rest/api/2/priority/{pid}",
            "iconUrl": f"{base}/images/icons/priorities/{name.lower()}.svg",
            "name": name, "id": pid}


def issuetype_json(name: str, base: str) -> dict[str, Any]:
    """The issue type object an issue embeds."""
    tid, subtask, level = ISSUE_TYPES[name]
    return {"self": f"{base}/rest/api/2/issuetype/{tid}", "id": tid, "description": "",
            "iconUrl": f"{base}/images/icons/issuetypes/{name.lower()}.svg", "name": name,
            "subtask": subtask, "avatarId": 10300 + int(tid) % 100, "hierarchyLevel": level}


def link_type_json(name: str, base: str) -> dict[str, Any]:
    """The link type object an issue link embeds."""
    lid, inward, outward = LINK_TYPES[name]
    return {"id": lid, "name": name, "inward": inward, "outward": outward,
            "self": f"{base}/rest/api/2/issueLinkType/{lid}"}


def _system(fid: str, name: str, kind: str, *, items: str | None = None,
            navigable: bool = True, orderable: bool = True,
            clauses: tuple[str, ...] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind, "system": fid}
    if items:
        schema = {"type": kind, "items": items, "system": fid}
    return {"id": fid, "key": fid, "name": name, "custom": False, "orderable": orderable,
            "navigable": navigable, "searchable": True,
            "clauseNames": list(clauses if clauses is not None else (fid,)), "schema": schema}


def _custom(fid: str, name: str, kind: str, custom: str, *, items: str | None = None,
            extra_clauses: tuple[str, ...] = ()) -> dict[str, Any]:
    number = int(fid.rsplit("_", 1)[1])
    schema: dict[str, Any] = {"type": kind, "custom": custom, "customId": number}
    if items:
        schema = {"type": kind, "items": items, "custom": custom, "customId": number}
    return {"id": fid, "key": fid, "name": name, "untranslatedName": name, "custom": True,
            "orderable": True, "navigable": True, "searchable": True,
            "clauseNames": [f"cf[{number}]", name, *extra_clauses], "schema": schema}


def field_catalogue(deployment: str) -> list[dict[str, Any]]:
    """What `GET /rest/api/2/field` lists (description first, as in Atlassian's example)."""
    points_type = ("com.pyxis.greenhopper.jira:jsw-story-points" if deployment == "Cloud"
                   else "com.atlassian.jira.plugin.system.customfieldtypes:float")
    return [
        _system("description", "Description", "string"),
        _system("summary", "Summary", "string"),
        _system("issuekey", "Key", "string", orderable=False,
                clauses=("id", "issue", "issuekey", "key")),
        _system("project", "Project", "project"),
        _system("issuetype", "Issue Type", "issuetype", clauses=("issuetype", "type")),
        _system("status", "Status", "status"),
        _system("statusCategory", "Status Category", "statusCategory", orderable=False),
        _system("priority", "Priority", "priority"),
        _system("resolution", "Resolution", "resolution"),
        _system("assignee", "Assignee", "user"),
        _system("reporter", "Reporter", "user"),
        _system("creator", "Creator", "user", orderable=False),
        _system("created", "Created", "datetime", orderable=False,
                clauses=("created", "createdDate")),
        _system("updated", "Updated", "datetime", orderable=False,
                clauses=("updated", "updatedDate")),
        _system("resolutiondate", "Resolved", "datetime", orderable=False,
                clauses=("resolutiondate", "resolved")),
        _system("duedate", "Due date", "date", clauses=("due", "duedate")),
        _system("labels", "Labels", "array", items="string"),
        _system("components", "Components", "array", items="component",
                clauses=("component",)),
        _system("parent", "Parent", "issuelink", orderable=False),
        _system("subtasks", "Sub-tasks", "array", items="issuelinks", orderable=False,
                clauses=("subtasks",)),
        _system("issuelinks", "Linked Issues", "array", items="issuelinks",
                clauses=("issueLink",)),
        _system("timetracking", "Time tracking", "timetracking", navigable=False,
                clauses=()),
        _system("worklog", "Log Work", "array", items="worklog", navigable=False,
                clauses=()),
        _custom(FIELD_EPIC_LINK, "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link"),
        _custom(FIELD_STORY_POINTS, story_points_name(deployment), "number", points_type),
        _custom(FIELD_SPRINT, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint",
                items="json"),
    ]
