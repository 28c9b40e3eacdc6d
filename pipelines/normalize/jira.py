"""Jira issues -> work items: status, priority, dates, effort, people and links.

A record is what `connectors.jira` landed: the issue as the search returned it, plus the
site facts needed to read it (`site.story_points_fields`, `sprint_field`,
`epic_link_field`, `deployment`), when Jira cut them short, the full `worklogs`, and the
addresses Jira hid but its bulk email lookup gave (`emails`: accountId -> address).

- key `<source>:<issue id>` (ids survive moves; the key `PLAT-12` is the item's `ref`);
- status: `status_map` by status name, else the status category (new / indeterminate /
  done -> todo / in_progress / done); a done issue resolved "Won't Do", "Duplicate" ...
  (`cancelled_resolutions`) is cancelled;
- effort: remaining estimate, else original estimate, else story points x hours per point
  (the source's, else `org.effort.hours_per_point`), with where it came from;
- people: assignee, reporter, creator (as author) in the "jira" namespace by accountId
  (Server: user name), with the address Jira shows (else the one the connector's bulk
  email lookup put in the record's `emails`) as evidence;
- links: parent and epic -> "parent"; issue links -> "blocks" / "duplicates" (stated by
  the issue on the acting side) and "relates".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from model import ItemKind, Role, StatusCategory
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, LinkDraft, NormalizeError
from workhub.config import JiraSourceConfig

__all__ = ["issue_fragment", "normalize_record"]

_CATEGORIES = {"new": StatusCategory.todo, "indeterminate": StatusCategory.in_progress,
               "done": StatusCategory.done}
# A config that left the file still has its records normalized with the defaults.
_DEFAULTS = JiraSourceConfig.model_validate({"kind": "jira", "name": "defaults", "url": ""})
_SPRINT_NAME = re.compile(r"[\[,]name=([^,\]]*)")
_SPRINT_STATE = re.compile(r"[\[,]state=([A-Za-z]+)")


def _time(value: Any, what: str, key: str) -> datetime | None:
    """A Jira timestamp in UTC; None when absent; NormalizeError when malformed."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and "T" in value:
        # fromisoformat reads Jira's "2026-12-02T10:00:00.000+0000" ten times faster than
        # strptime; a value without a zone is no Jira timestamp.
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    raise NormalizeError(f"{key}: fields.{what} is not a Jira timestamp: {value!r}")


def _due(value: Any, key: str, ctx: NormalizeContext) -> datetime | None:
    """A date-only due date is due by the end of that day in the organisation's zone."""
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise NormalizeError(f"{key}: fields.duedate is not a date: {value!r}") from exc
    return datetime.combine(day, time(23, 59, 59), ctx.org_timezone).astimezone(UTC)


def _number(value: Any, what: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise NormalizeError(f"{key}: {what} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise NormalizeError(f"{key}: {what} is not a number: {value!r}") from exc
    if number < 0:
        raise NormalizeError(f"{key}: {what} is negative: {value!r}")
    return number


# A source's status map and resolutions, lowered once rather than for every issue.
@cache
def _lowered_map(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {name.lower(): value for name, value in pairs}


@cache
def _lowered(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def _status(fields: dict[str, Any], cfg: JiraSourceConfig, key: str
            ) -> tuple[str, StatusCategory]:
    status = fields.get("status")
    if not isinstance(status, dict) or not status.get("name"):
        raise NormalizeError(f"{key}: the issue has no fields.status")
    name = str(status["name"])
    mapped = _lowered_map(tuple(cfg.status_map.items())).get(name.lower())
    if mapped is not None:
        category = StatusCategory(mapped)
    else:
        category_key = (status.get("statusCategory") or {}).get("key")
        category = _CATEGORIES.get(str(category_key), StatusCategory.todo)
    resolution = (fields.get("resolution") or {}).get("name")
    if (category is StatusCategory.done and resolution
            and str(resolution).lower() in _lowered(tuple(cfg.cancelled_resolutions))):
        category = StatusCategory.cancelled
    return name, category


def _story_points(payload: dict[str, Any], fields: dict[str, Any], cfg: JiraSourceConfig,
                  key: str) -> float | None:
    site = payload.get("site") or {}
    candidates = ([cfg.story_points_field] if cfg.story_points_field
                  else list(site.get("story_points_fields") or []))
    for field in candidates:
        points = _number(fields.get(field), "story points", key)
        if points is not None:
            return points
    return None


def _effort(fields: dict[str, Any], points: float | None, cfg: JiraSourceConfig,
            ctx: NormalizeContext, key: str) -> tuple[float | None, str | None]:
    tracking = fields.get("timetracking") or {}
    remaining = tracking.get("remainingEstimateSeconds", fields.get("timeestimate"))
    original = tracking.get("originalEstimateSeconds", fields.get("timeoriginalestimate"))
    for seconds, source in ((remaining, "remaining"), (original, "original")):
        value = _number(seconds, f"the {source} estimate", key)
        if value is not None:
            return round(value / 3600, 4), source
    if points is not None:
        per_point = cfg.hours_per_point or ctx.config.org.effort.hours_per_point
        return round(points * per_point, 4), "points"
    return None, None


def _person(user: Any, role: Role, emails: dict[str, Any] | None = None
            ) -> InvolvementDraft | None:
    """Cloud names people by accountId; Server by user name (else its user key).

    The address is what Jira shows, else what the bulk email lookup found (`emails`).
    """
    if not isinstance(user, dict):
        return None
    value = user.get("accountId") or user.get("name") or user.get("key")
    if not value:
        return None
    address = user.get("emailAddress") or (emails or {}).get(str(value))
    return InvolvementDraft("jira", str(value), role, display_name=user.get("displayName"),
                            email=str(address).lower() if address else None)


def _links(fields: dict[str, Any], payload: dict[str, Any], key: str) -> list[LinkDraft]:
    links: list[LinkDraft] = []
    parent = (fields.get("parent") or {}).get("key")
    if parent:
        links.append(LinkDraft("parent", str(parent), evidence="parent"))
    epic_field = (payload.get("site") or {}).get("epic_link_field")
    epic = fields.get(epic_field) if epic_field else None
    if isinstance(epic, str) and epic and epic != parent:
        links.append(LinkDraft("parent", epic, evidence="Epic Link"))
    for link in fields.get("issuelinks") or []:
        kind = (link.get("type") or {})
        name = str(kind.get("name", "")).lower()
        verb = "blocks" if "block" in name else "duplicates" if "duplicat" in name else "relates"
        if link.get("outwardIssue"):
            other, said = link["outwardIssue"], kind.get("outward")
        elif link.get("inwardIssue") and verb == "relates":
            other, said = link["inwardIssue"], kind.get("inward")
        else:
            # "is blocked by X": X's own record states "X blocks this", the edge we keep.
            continue
        if other.get("key"):
            links.append(LinkDraft(verb, str(other["key"]),
                                   evidence=f"{key} {said or verb} {other['key']}"[:500]))
    return links


def _sprint(value: Any) -> str | None:
    """The current sprint's name: Cloud sends objects, Server GreenHopper strings."""
    sprints: list[tuple[str, str]] = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict) and entry.get("name"):
            sprints.append((str(entry["name"]), str(entry.get("state", "")).lower()))
        elif isinstance(entry, str) and (name := _SPRINT_NAME.search(entry)):
            state = _SPRINT_STATE.search(entry)
            sprints.append((name.group(1), state.group(1).lower() if state else ""))
    active = [name for name, state in sprints if state == "active"]
    names = active or [name for name, _ in sprints]
    return names[-1] if names else None


def _extra(fields: dict[str, Any], payload: dict[str, Any], points: float | None
           ) -> dict[str, Any]:
    site = payload.get("site") or {}
    issuetype = fields.get("issuetype") or {}
    extra: dict[str, Any] = {
        "issuetype": issuetype.get("name"),
        "subtask": bool(issuetype.get("subtask")) or None,
        "labels": list(fields.get("labels") or []) or None,
        "components": [c.get("name") for c in fields.get("components") or []] or None,
        "resolution": (fields.get("resolution") or {}).get("name"),
        "resolved_at": fields.get("resolutiondate"),
        "story_points": points,
        "sprint": _sprint(fields.get(str(site.get("sprint_field") or ""))),
    }
    spent = (fields.get("timetracking") or {}).get("timeSpentSeconds", fields.get("timespent"))
    if isinstance(spent, int | float) and spent:
        extra["time_spent_hours"] = round(spent / 3600, 4)
    logs = payload.get("worklogs")
    if logs is None and isinstance(fields.get("worklog"), dict):
        logs = fields["worklog"].get("worklogs")
    by_person: dict[str, float] = {}
    for log in logs or []:
        author = _person(log.get("author"), Role.author)
        if author is not None:
            hours = float(log.get("timeSpentSeconds") or 0) / 3600
            by_person[author.value] = round(by_person.get(author.value, 0.0) + hours, 4)
    if by_person:
        extra["time_spent_by"] = dict(sorted(by_person.items()))
    return {k: v for k, v in extra.items() if v is not None}


def issue_fragment(record: Record, ctx: NormalizeContext) -> Fragment:
    """The work item one Jira issue record describes."""
    payload = record.payload
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict):
        raise NormalizeError("the record holds no Jira issue with fields")
    fields: dict[str, Any] = issue["fields"]
    issue_id, key = str(issue.get("id") or ""), str(issue.get("key") or "")
    if not issue_id or not key:
        raise NormalizeError("the issue has no id or key")
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise NormalizeError(f"{key}: the issue has no fields.summary")
    found = ctx.source_config(record.source_id)
    cfg = found if isinstance(found, JiraSourceConfig) else _DEFAULTS
    base = cfg.url.rstrip("/") if cfg.url else _site_url(str(issue.get("self", "")))
    status_raw, category = _status(fields, cfg, key)
    priority = (fields.get("priority") or {}).get("name")
    points = _story_points(payload, fields, cfg, key)
    estimate, estimate_source = _effort(fields, points, cfg, ctx, key)
    found_emails = payload.get("emails")
    emails = found_emails if isinstance(found_emails, dict) else {}
    people = [p for p in (_person(fields.get("assignee"), Role.assignee, emails),
                          _person(fields.get("reporter"), Role.reporter, emails),
                          _person(fields.get("creator"), Role.author, emails)) if p is not None]
    updated = _time(fields.get("updated"), "updated", key)
    project = fields.get("project") or {}
    draft = ItemDraft(
        key=f"{ctx.sources[record.source_id][0]}:{issue_id}",
        external_id=issue_id,
        kind=ItemKind.issue,
        title=summary.strip(),
        url=f"{base}/browse/{key}",
        container=project.get("key") or key.rsplit("-", 1)[0],
        status_raw=status_raw,
        status_category=category,
        priority=cfg.priority_map.get(str(priority)) if priority else None,
        created_at=_time(fields.get("created"), "created", key),
        updated_at=updated,
        due_at=_due(fields.get("duedate"), key, ctx),
        estimate_hours=estimate,
        estimate_source=estimate_source,
        ref=key,
        extra=_extra(fields, payload, points),
        involvements=people,
        links=_links(fields, payload, key),
    )
    return Fragment.of(record, draft, rank=(updated.timestamp() if updated else 0.0,))


def _site_url(self_url: str) -> str:
    """The site's base URL (context path included) from an issue's `self` link."""
    return self_url.split("/rest/api/", 1)[0] if "/rest/api/" in self_url else ""


#: The runner finds every kind's normalizer under this name.
normalize_record = issue_fragment
