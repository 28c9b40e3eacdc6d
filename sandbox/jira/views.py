"""How the Jira stand-in shows a stored issue: `fields` selection (`*all`, `*navigable`,
`-field`), `expand=changelog,names`, live link/parent/sub-task summaries (Jira renders
those from the linked issue as it is now) and v3's Atlassian Document Format."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.jira.catalog import field_catalogue
from sandbox.jira.store import JiraStore
from workhub.jsonio import copied

__all__ = ["children_of", "issue_view", "parse_list", "select_fields"]

# What an embedded (linked, parent, sub-task) issue shows of itself.
_SUMMARY_FIELDS = ("summary", "status", "priority", "issuetype")


def parse_list(values: Iterable[Any]) -> list[str]:
    """Flatten `fields=a,b&fields=c` / `["a,b", "c"]` into `["a", "b", "c"]`."""
    out: list[str] = []
    for value in values:
        if isinstance(value, list):
            out += parse_list(value)
        elif value is not None:
            out += [part.strip() for part in str(value).split(",") if part.strip()]
    return out


def select_fields(fields: dict[str, Any], spec: list[str], deployment: str) -> dict[str, Any]:
    """The subset of `fields` that a `fields=` parameter asks for."""
    catalogue = {f["id"]: f for f in field_catalogue(deployment)}
    names_to_ids = {f["name"].lower(): f["id"] for f in catalogue.values()}
    chosen: set[str] = set()
    excluded: set[str] = set()
    for item in spec:
        if item == "*all":
            chosen |= set(fields)
        elif item == "*navigable":
            chosen |= {k for k in fields if catalogue.get(k, {}).get("navigable", True)}
        elif item.startswith("-"):
            excluded.add(names_to_ids.get(item[1:].lower(), item[1:]))
        else:
            chosen.add(names_to_ids.get(item.lower(), item))
    return {k: v for k, v in fields.items() if k in chosen and k not in excluded}


def children_of(store: JiraStore) -> dict[str, list[dict[str, Any]]]:
    """Parent issue id -> its sub-tasks (computed again only when issues come, go or
    move: an edit of a summary would otherwise cost a scan of every issue)."""
    built: dict[str, list[dict[str, Any]]] = store.memo_structure(
        "children", lambda: _children(store))
    return built


def _children(store: JiraStore) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for issue in store.issues.values():
        parent = issue["fields"].get("parent")
        if parent and issue["fields"]["issuetype"]["subtask"]:
            out.setdefault(parent["id"], []).append(issue)
    return out


def _embedded(issue: dict[str, Any]) -> dict[str, Any]:
    # The stored fields themselves, not copies: `issue_view` copies the whole view once.
    return {"id": issue["id"], "key": issue["key"], "self": issue["self"],
            "fields": {k: issue["fields"][k] for k in _SUMMARY_FIELDS}}


def _adf(text: str | None) -> dict[str, Any] | None:
    """Plain text as an Atlassian Document Format document (what REST v3 returns)."""
    if text is None:
        return None
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def issue_view(store: JiraStore, issue: dict[str, Any], *, fields: list[str],
               expand: Iterable[str] = (), api_version: str = "2",
               children: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The issue as the API returns it for these `fields` and `expand` choices."""
    expand = set(expand)
    stored = issue["fields"]
    shown = dict(stored)
    links = []
    for link in stored["issuelinks"]:
        side = "inwardIssue" if "inwardIssue" in link else "outwardIssue"
        target = store.issues.get(link[side]["id"])
        if target is not None:  # a deleted target's link is gone
            links.append({**link, side: _embedded(target)})
    shown["issuelinks"] = links
    if stored.get("parent"):
        parent = store.issues.get(stored["parent"]["id"])
        if parent is None:
            shown.pop("parent")
        else:
            shown["parent"] = _embedded(parent)
    kids = (children if children is not None else children_of(store)).get(issue["id"], [])
    shown["subtasks"] = [_embedded(kid) for kid in kids]
    selected = select_fields(shown, fields, store.deployment)
    out: dict[str, Any] = {"expand": issue["expand"], "id": issue["id"],
                           "self": issue["self"], "key": issue["key"],
                           "fields": copied(selected)}
    if api_version == "3" and "description" in out["fields"]:
        out["fields"]["description"] = _adf(out["fields"]["description"])
    if "changelog" in expand:
        histories = copied(store.changelogs.get(issue["id"], []))
        out["changelog"] = {"startAt": 0, "maxResults": len(histories),
                            "total": len(histories), "histories": histories}
    if "names" in expand:
        names = {f["id"]: f["name"] for f in field_catalogue(store.deployment)}
        out["names"] = {k: names.get(k, k) for k in out["fields"]}
    return out
