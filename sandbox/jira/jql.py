"""A JQL subset: what a sync connector sends, evaluated against a `JiraStore`.

Clauses: `project`, `key`/`issuekey`/`id`, `assignee`/`reporter`/`creator` (accountId,
username or email; `currentUser()`), `status`, `statusCategory`, `issuetype`, `priority`,
`resolution`, `labels`, `parent`, `"Epic Link"`, the story-points field, `summary ~`,
and the dates `updated`/`created`/`resolved`/`duedate` with `=, !=, <, <=, >, >=` against
`"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd HH:mm"`, `"yyyy-MM-dd"`, `-7d`-style offsets or
`now()`/`startOfDay()`. Operators `= != in (...) not in (...) is [not] EMPTY`, `AND`,
`OR`, `NOT`, parentheses, and `ORDER BY f [ASC|DESC], ...`. Anything else raises
`JqlError` with the message Jira would give, which the app answers with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.jira.catalog import FIELD_EPIC_LINK, FIELD_STORY_POINTS, parse_time
from sandbox.jira.jql_parse import Clause, JqlError, Node, Query, parse
from sandbox.jira.store import JiraStore

__all__ = ["JqlError", "Query", "parse", "run"]

Issue = dict[str, Any]
Predicate = Callable[[Issue], bool]


@dataclass
class _Ctx:
    store: JiraStore
    now: datetime
    user: str | None


def _users(value: Any) -> set[str]:
    """Every identifier a user object answers to (case-folded)."""
    if not value:
        return set()
    return {str(value[k]).lower() for k in ("accountId", "name", "key", "emailAddress")
            if value.get(k)}


def _literal(ctx: _Ctx, fieldname: str, value: Any) -> Any:
    if isinstance(value, tuple):
        fn = value[1].lower()
        if fn == "currentuser" and ctx.user:
            return ctx.user
        if fn == "now":
            return ctx.now
        if fn == "startofday":
            return ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
        raise JqlError(f"Unable to find JQL function '{value[1]}()'.")
    return value


def _moment(ctx: _Ctx, fieldname: str, value: Any) -> datetime:
    value = _literal(ctx, fieldname, value)
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    relative = re.fullmatch(r"([-+]?)\s*(\d+)\s*([wdhm])", text)
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        size = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
                "m": timedelta(minutes=1)}[relative.group(3)]
        return ctx.now + sign * int(relative.group(2)) * size
    for fmt in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(f"Date value '{text}' for field '{fieldname}' is invalid. Valid formats "
                   "include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
                   "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")


def _date_of(issue: Issue, name: str) -> datetime | None:
    raw = issue["fields"].get(name)
    if not raw:
        return None
    if len(raw) == 10:  # a due date: the start of that day
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    return parse_time(raw)


_DATE_FIELDS = {"updated": "updated", "updateddate": "updated", "created": "created",
                "createddate": "created", "resolved": "resolutiondate",
                "resolutiondate": "resolutiondate", "duedate": "duedate", "due": "duedate"}
_USER_FIELDS = {"assignee", "reporter", "creator"}


def _values_of(ctx: _Ctx, name: str, issue: Issue) -> set[str]:
    """The identifiers a (non-date) field holds, case-folded; empty set = EMPTY."""
    f = issue["fields"]
    if name in _USER_FIELDS:
        return _users(f.get(name))
    if name == "project":
        p = f["project"]
        return {p["key"].lower(), p["name"].lower(), p["id"]}
    if name in ("key", "issuekey", "id", "issue"):
        return {k.lower() for k, v in ctx.store.keys.items() if v == issue["id"]} | {
            issue["id"]}
    if name in ("status", "priority", "issuetype", "type", "resolution"):
        obj = f.get("issuetype" if name == "type" else name)
        return {obj["name"].lower(), obj["id"]} if obj else set()
    if name == "statuscategory":
        cat = f["status"]["statusCategory"]
        return {cat["key"].lower(), cat["name"].lower(), str(cat["id"])}
    if name == "labels":
        return {label.lower() for label in f.get("labels") or []}
    if name == "parent":
        parent = f.get("parent")
        if not parent:
            return set()
        return {parent["id"]} | {k.lower() for k, v in ctx.store.keys.items()
                                 if v == parent["id"]}
    if name in ("epic link", "cf[10014]", FIELD_EPIC_LINK):
        epic = f.get(FIELD_EPIC_LINK)
        return {epic.lower()} if epic else set()
    raise AssertionError(name)


def _compile(ctx: _Ctx, node: Node | Clause) -> Predicate:
    if isinstance(node, Node):
        parts = [_compile(ctx, child) for child in node.children]
        if node.kind == "and":
            return lambda issue: all(p(issue) for p in parts)
        if node.kind == "or":
            return lambda issue: any(p(issue) for p in parts)
        return lambda issue: not parts[0](issue)
    return _clause(ctx, node)


def _clause(ctx: _Ctx, clause: Clause) -> Predicate:
    name, op = clause.field.lower(), clause.op
    points_names = {"story points", "story point estimate", "cf[10016]", FIELD_STORY_POINTS}
    if name in _DATE_FIELDS:
        stored = _DATE_FIELDS[name]
        if op in ("is", "is not"):
            return lambda i: (_date_of(i, stored) is None) == (op == "is")
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise JqlError(f"The operator '{op}' is not supported by the '{clause.field}' "
                           "field.")
        bound = _moment(ctx, clause.field, clause.values[0])
        compare: dict[str, Callable[[datetime], bool]] = {
            "=": lambda d: d == bound, "!=": lambda d: d != bound,
            "<": lambda d: d < bound, "<=": lambda d: d <= bound,
            ">": lambda d: d > bound, ">=": lambda d: d >= bound}
        test = compare[op]
        return lambda i: (d := _date_of(i, stored)) is not None and test(d)
    if name in points_names:
        if op in ("is", "is not"):
            return lambda i: (i["fields"].get(FIELD_STORY_POINTS) is None) == (op == "is")
        try:
            number = float(clause.values[0])
        except (TypeError, ValueError) as exc:
            raise JqlError(f"The value '{clause.values[0]}' is not a number.") from exc
        checks = {"=": number.__eq__, "!=": number.__ne__, "<": number.__gt__,
                  "<=": number.__ge__, ">": number.__lt__, ">=": number.__le__}
        if op not in checks:
            raise JqlError(f"The operator '{op}' is not supported by the '{clause.field}' "
                           "field.")
        check = checks[op]
        return lambda i: (v := i["fields"].get(FIELD_STORY_POINTS)) is not None and bool(
            check(float(v)))
    if name in ("summary", "description", "text"):
        if op not in ("~", "!~"):
            raise JqlError(f"The operator '{op}' is not supported by the '{clause.field}' "
                           "field.")
        needle = str(clause.values[0]).lower().strip("*")
        keys = ("summary", "description") if name == "text" else (name,)

        def hit(i: Issue) -> bool:
            return any(needle in str(i["fields"].get(k) or "").lower() for k in keys)

        return hit if op == "~" else (lambda i: not hit(i))
    known = {"project", "key", "issuekey", "id", "issue", "status", "priority", "issuetype",
             "type", "resolution", "statuscategory", "labels", "parent", "epic link",
             "cf[10014]", FIELD_EPIC_LINK} | _USER_FIELDS
    if name not in known:
        raise JqlError(f"Field '{clause.field}' does not exist or you do not have permission "
                       "to view it.")
    if op in ("is", "is not"):
        return lambda i: (not _values_of(ctx, name, i)) == (op == "is")
    if op not in ("=", "!=", "in", "not in"):
        raise JqlError(f"The operator '{op}' is not supported by the '{clause.field}' field.")
    wanted = {str(_literal(ctx, clause.field, v)).lower() for v in clause.values
              if v is not None}
    wants_empty = any(v is None for v in clause.values)
    if name == "project":
        known_projects = {k for p in ctx.store.projects.values()
                          for k in (p["key"].lower(), p["name"].lower(), p["id"])}
        missing = sorted(wanted - known_projects)
        if missing:
            raise JqlError(f"The value '{missing[0].upper()}' does not exist for the field "
                           "'project'.")
    if name in _USER_FIELDS and op in ("=", "in"):
        for value in wanted:
            if ctx.store.find_user(value) is None:
                raise JqlError(f"The value '{value}' does not exist for the field '{name}'.")
    if op in ("=", "in"):
        return lambda i: bool(_values_of(ctx, name, i) & wanted) or (
            wants_empty and not _values_of(ctx, name, i))
    # Jira's != and NOT IN never match an issue whose field is EMPTY.
    return lambda i: bool(values := _values_of(ctx, name, i)) and not (values & wanted)


def _sort_key(name: str) -> Callable[[Issue], Any]:
    lowered = name.lower()
    if lowered in ("key", "issuekey", "id"):
        return lambda i: (i["fields"]["project"]["key"], int(i["key"].rsplit("-", 1)[1]))
    if lowered in _DATE_FIELDS:
        return lambda i: _date_of(i, _DATE_FIELDS[lowered])
    if lowered == "priority":
        return lambda i: -int(i["fields"]["priority"]["id"])
    if lowered in ("status", "issuetype", "summary", "project"):
        return lambda i: (i["fields"][lowered].get("name") if isinstance(
            i["fields"][lowered], dict) else i["fields"][lowered])
    if lowered in ("assignee", "reporter"):
        return lambda i: (i["fields"][lowered] or {}).get("displayName")
    raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


#: JQL whose answer moves with the clock: functions (`now()`) and offsets (`-7d`).
_CLOCKED = re.compile(r"\(\s*\)|[-+]?\d+\s*[wdhm]\b")


def run(store: JiraStore, jql: str, *, user: str | None = None) -> list[Issue]:
    """The stored issues matching `jql`, in its ORDER BY (default `key DESC`).

    The answer is computed once per state of the store (and moment, for clocked JQL),
    so paging through N hits costs one evaluation, not one per page. Callers must not
    change the list.
    """
    query = parse(jql)
    with store.lock:
        now = store.clock()
        key = ("search", jql, user, now if _CLOCKED.search(jql) else None)
        found: list[Issue] = store.memo(key, lambda: _evaluate(store, query, now, user))
        return found


def _evaluate(store: JiraStore, query: Query, now: datetime, user: str | None
              ) -> list[Issue]:
    with store.lock:
        ctx = _Ctx(store, now, user)
        keep = _compile(ctx, query.where) if query.where is not None else None
        order = query.order or [("key", False)]
        getters = [(_sort_key(name), asc) for name, asc in order]
        found = [i for i in store.issues.values() if keep is None or keep(i)]
        # Stable sorts from the last key to the first; ties fall back to id so that paging
        # is stable.
        found.sort(key=lambda i: int(i["id"]))
        for getter, ascending in reversed(getters):
            present = [i for i in found if getter(i) is not None]
            empty = [i for i in found if getter(i) is None]
            present.sort(key=getter, reverse=not ascending)
            # EMPTY values come last in ascending order and first in descending, as in Jira.
            found = present + empty if ascending else empty + present
        return found
