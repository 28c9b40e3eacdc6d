"""Confluence pages and inline tasks -> `page` and `task` items.

Choices, so readers know what the numbers rest on:

- A page is a document, not an open task: every page (current or archived) has status
  category `done`, so pages never count as committed work. Its owner is its `author`;
  the last editor and, when someone else, the creator are `editor`s.
- People are Atlassian accountIds in the identity namespace "jira": Confluence Cloud and
  Jira Cloud share accountIds, so one config alias `jira:<accountId>` (or the address
  Jira states) resolves a person in both tools. Confluence v2 states no email.
- A task's due date is a date in Confluence (`dueAt` is midnight UTC of it): it becomes
  23:59:59 of that date in the org time zone, stored in UTC.
- Pages get the reference `<source>:page:<id>` (unique across sites); a task links to it
  as `parent`. Jira keys in page titles and task texts become `references` links.
  Page bodies are not fetched, so keys inside a body are not seen.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time
from typing import Any

from model import ItemKind, Role, StatusCategory
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, LinkDraft, NormalizeError

__all__ = ["jira_keys", "normalize_record", "page_ref", "task_text"]

#: The identity namespace of Atlassian accountIds (shared with the Jira connector).
NAMESPACE = "jira"

# A Jira key: a project key (a capital, then capitals/digits/_) and a number; not part of
# a longer token ("CVE-2024-1234", "abc-PLAT-1").
_JIRA_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]*)(?![0-9A-Za-z-])")
# Tokens that look like keys but name standards and encodings.
_NOT_KEYS = {"UTF", "ISO", "RFC", "SHA", "CVE", "COVID", "MD", "AES", "TLS", "HTTP", "IPV"}
_MENTION = re.compile(r"<ac:link>.*?</ac:link>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def jira_keys(text: str) -> list[str]:
    """Jira issue keys named in a text, in order of appearance, each once."""
    out: list[str] = []
    for key in _JIRA_KEY.findall(text or ""):
        if key.split("-", 1)[0] not in _NOT_KEYS and key not in out:
            out.append(key)
    return out


def task_text(storage: str) -> str:
    """A task's words from its storage markup, without the @mention and the date."""
    text = _TAG.sub(" ", _MENTION.sub(" ", storage or ""))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def page_ref(source: str, page_id: str) -> str:
    """The reference of a Confluence page: what its tasks' parent links point at."""
    return f"{source}:page:{page_id}"


def _time(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise NormalizeError(f"bad {what}: {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _person(account_id: Any, role: Role) -> InvolvementDraft | None:
    return InvolvementDraft(NAMESPACE, str(account_id), role) if account_id else None


def _references(text: str) -> list[LinkDraft]:
    return [LinkDraft("references", key, evidence=text[:200]) for key in jira_keys(text)]


def _page(record: Record, ctx: NormalizeContext, source: str) -> Fragment:
    page: dict[str, Any] = record.payload["page"]
    page_id = str(page["id"])
    title = str(page.get("title") or "").strip() or "(untitled page)"
    version = page.get("version") or {}
    updated = _time(version.get("createdAt"), "version.createdAt")
    owner = page.get("ownerId") or page.get("authorId")
    people = [p for p in (
        _person(owner, Role.author),
        _person(version.get("authorId"), Role.editor),
        _person(page.get("authorId") if page.get("authorId") != owner else None, Role.editor),
    ) if p is not None]
    links = _references(title)
    if page.get("parentId") and page.get("parentType", "page") == "page":
        links.append(LinkDraft("parent", page_ref(source, str(page["parentId"]))))
    webui = str((page.get("_links") or {}).get("webui") or "")
    space = record.payload.get("space") or {}
    draft = ItemDraft(
        key=f"{source}:page:{page_id}",
        external_id=f"page:{page_id}",
        kind=ItemKind.page,
        title=title,
        url=str(record.payload.get("base") or "") + webui,
        container=space.get("key") or space.get("id"),
        status_raw=page.get("status"),
        status_category=StatusCategory.done,
        created_at=_time(page.get("createdAt"), "createdAt"),
        updated_at=updated,
        ref=page_ref(source, page_id),
        extra={"version": version.get("number")},
        involvements=people,
        links=links,
    )
    return Fragment.of(record, draft, rank=(updated.timestamp() if updated else 0.0,))


def _due(value: Any, ctx: NormalizeContext) -> datetime | None:
    """A task's due date: the end of that day in the org time zone, in UTC."""
    moment = _time(value, "dueAt")
    if moment is None:
        return None
    end = datetime.combine(moment.date(), time(23, 59, 59), tzinfo=ctx.org_timezone)
    return end.astimezone(UTC)


def _task(record: Record, ctx: NormalizeContext, source: str) -> Fragment:
    task: dict[str, Any] = record.payload["task"]
    task_id = str(task["id"])
    storage = str(((task.get("body") or {}).get("storage") or {}).get("value") or "")
    text = task_text(storage)
    status = str(task.get("status") or "")
    if status not in ("complete", "incomplete"):
        raise NormalizeError(f"task {task_id}: unknown status {status!r}")
    people = [p for p in (_person(task.get("assignedTo"), Role.assignee),
                          _person(task.get("createdBy"), Role.reporter)) if p is not None]
    links = _references(text)
    page_id = task.get("pageId")
    base = str(record.payload.get("base") or "")
    if page_id:
        links.append(LinkDraft("parent", page_ref(source, str(page_id))))
    space = record.payload.get("space") or {}
    updated = _time(task.get("updatedAt"), "updatedAt")
    draft = ItemDraft(
        key=f"{source}:task:{task_id}",
        external_id=f"task:{task_id}",
        kind=ItemKind.task,
        title=text or "(empty task)",
        # Tasks have no page of their own; the classic page link works on every site.
        url=f"{base}/pages/viewpage.action?pageId={page_id}" if page_id else base,
        container=space.get("key") or space.get("id"),
        status_raw=status,
        status_category=StatusCategory.done if status == "complete" else StatusCategory.todo,
        created_at=_time(task.get("createdAt"), "createdAt"),
        updated_at=updated,
        due_at=_due(task.get("dueAt"), ctx),
        involvements=people,
        links=links,
    )
    return Fragment.of(record, draft, rank=(updated.timestamp() if updated else 0.0,))


def normalize_record(record: Record, ctx: NormalizeContext) -> Fragment | None:
    """The page or task one Confluence record describes."""
    source = ctx.sources[record.source_id][0]
    payload = record.payload
    try:
        if record.stream == "pages" and isinstance(payload.get("page"), dict):
            return _page(record, ctx, source)
        if record.stream == "tasks" and isinstance(payload.get("task"), dict):
            return _task(record, ctx, source)
    except (KeyError, TypeError, AttributeError) as exc:
        raise NormalizeError(f"malformed Confluence {record.stream} record: {exc!r}") from exc
    raise NormalizeError(f"not a Confluence page or task record (stream {record.stream!r})")
