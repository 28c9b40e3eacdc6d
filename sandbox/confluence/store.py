"""The Confluence Cloud world of the stand-in: spaces, pages, page versions and inline
tasks, held as Confluence REST v2 JSON objects.

Pages keep their storage-format body (XHTML with `ac:` macros); a page's inline tasks
live in that body as `<ac:task-list>` markup *and* as v2 task objects, and every mutation
keeps the two in step the way Confluence does: creating a task, reassigning it or moving
its due date is an edit of the page (a new version), while ticking the checkbox changes
the task and the body in place without a new version. Timestamps come from an
injectable clock (or an explicit `at=`, which the seed uses to write history).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from sandbox.compact import read_jsonl

__all__ = [
    "ConfluenceError",
    "ConfluenceStore",
    "Json",
    "NewTask",
    "format_time",
    "parse_time",
    "task_list_markup",
]

Json = dict[str, Any]

#: JSON Lines files `dump` writes, one object a line, in this order.
FILES = ("spaces", "pages", "versions", "tasks")


class ConfluenceError(Exception):
    """A request Confluence would refuse; `status` is the HTTP status it answers with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class NewTask:
    """An inline task to write into a page: its text, assignee and due date."""

    text: str
    assigned_to: str | None = None
    due_at: datetime | None = None


def format_time(moment: datetime) -> str:
    """Confluence's timestamp format: `YYYY-MM-DDTHH:mm:ss.sssZ`, always UTC."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """Read a timestamp `format_time` wrote (or any ISO 8601 one)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _tiny(content_id: str) -> str:
    # Confluence's tiny links are the id's little-endian bytes in URL-safe base64,
    # trailing padding ("A" for zero bytes, "=") stripped.
    raw = base64.b64encode(struct.pack("<Q", int(content_id))).decode()
    return raw.rstrip("=").rstrip("A").replace("/", "-").replace("+", "_")


def _mention(account_id: str) -> str:
    return f'<ac:link><ri:user ri:account-id="{escape(account_id)}" /></ac:link>'


def _task_body(text: str, assigned_to: str | None, due_at: datetime | None) -> str:
    """The storage markup inside `<ac:task-body>`: text, @assignee, due date."""
    parts = [escape(text, quote=False)]
    if assigned_to:
        parts.append(_mention(assigned_to))
    if due_at is not None:
        parts.append(f'<time datetime="{due_at.astimezone(UTC).date().isoformat()}" />')
    return " ".join(parts)


def _task_markup(local_id: str, status: str, body: str) -> str:
    return (f"<ac:task><ac:task-id>{local_id}</ac:task-id><ac:task-status>{status}"
            f"</ac:task-status><ac:task-body>{body}</ac:task-body></ac:task>")


def task_list_markup(tasks: Iterable[Json]) -> str:
    """An `<ac:task-list>` holding these v2 task objects, as the page body stores it."""
    inner = "".join(_task_markup(t["localId"], t["status"], t["body"]["storage"]["value"])
                    for t in tasks)
    return f"<ac:task-list>{inner}</ac:task-list>"


def _task_pattern(local_id: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<ac:task><ac:task-id>{re.escape(local_id)}</ac:task-id><ac:task-status>)"
        r"(complete|incomplete)(</ac:task-status><ac:task-body>)(.*?)(</ac:task-body>)",
        re.DOTALL)


class ConfluenceStore:
    """Spaces, pages, versions and tasks of one Confluence Cloud site.

    `clock` gives "now" for every mutation without an explicit `at=`; `api_tokens`
    maps email -> API token for Basic auth (empty: any non-empty email and token pass).
    Readers take `lock` and read the dicts directly; mutations take it themselves.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None,
                 api_tokens: dict[str, str] | None = None) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.api_tokens: dict[str, str] = dict(api_tokens or {})
        self.spaces: dict[str, Json] = {}
        self.pages: dict[str, Json] = {}
        #: page id -> its versions (v2 PageVersion objects with the page's title and
        #: body at that version), oldest first
        self.versions: dict[str, list[Json]] = {}
        self.tasks: dict[str, Json] = {}
        # Indexes kept beside the dicts so that a large world is built and served in
        # linear time: parent page id -> child page ids (in insertion order), page id ->
        # its tasks.
        self._kids: dict[str, dict[str, None]] = {}
        self._tasks_of: dict[str, list[Json]] = {}
        self._in_space: dict[str, dict[str, None]] = {}
        # Reentrant: mutations call each other (create_space creates its homepage).
        self.lock = threading.RLock()
        # Confluence ids are numeric strings; content ids share one sequence.
        self._next_space = 98305
        self._next_content = 163841
        self._next_task = 2001

    # ------------------------------------------------------------ helpers

    def _now(self, at: datetime | None) -> str:
        return format_time(at if at is not None else self.clock())

    def _space(self, space_id: str) -> Json:
        space = self.spaces.get(str(space_id))
        if space is None:
            raise ConfluenceError(404, f"No space with id {space_id}")
        return space

    def _page(self, page_id: str, *, live: bool = True) -> Json:
        page = self.pages.get(str(page_id))
        if page is None or page["status"] == "deleted":
            raise ConfluenceError(404, f"No page with id {page_id}")
        if live and page["status"] != "current":
            raise ConfluenceError(409, f"Page {page_id} is {page['status']}")
        return page

    def _task(self, task_id: str) -> Json:
        task = self.tasks.get(str(task_id))
        if task is None:
            raise ConfluenceError(404, f"No task with id {task_id}")
        return task

    def _links(self, page: Json) -> Json:
        key = self.spaces[page["spaceId"]]["key"]
        return {"webui": f"/spaces/{key}/pages/{page['id']}/{quote_plus(page['title'])}",
                "editui": f"/pages/resumedraft.action?draftId={page['id']}",
                "tinyui": f"/x/{_tiny(page['id'])}"}

    def _children(self, page_id: str) -> list[Json]:
        return [p for p in (self.pages[k] for k in self._kids.get(page_id, ()))
                if p["status"] != "deleted"]

    def _reparent(self, page: Json, parent_id: str | None) -> None:
        """Set a page's parent, keeping the children index in step."""
        if page.get("parentId"):
            self._kids.get(page["parentId"], {}).pop(page["id"], None)
        page["parentId"] = parent_id
        if parent_id:
            self._kids.setdefault(parent_id, {})[page["id"]] = None

    def _space_pages(self, space_id: str) -> list[Json]:
        """The space's pages that are not deleted: its homepage and the tree below."""
        home = self.pages.get(self.spaces[space_id].get("homepageId") or "")
        return [home, *self._descendants(home["id"])] if home else []

    def _descendants(self, page_id: str) -> list[Json]:
        out: list[Json] = []
        todo = [page_id]
        while todo:
            for child in self._children(todo.pop()):
                out.append(child)
                todo.append(child["id"])
        return out

    def pages_in(self, space_ids: Iterable[str]) -> list[Json]:
        """Every stored page (any status) of the spaces."""
        return [self.pages[k] for sid in space_ids for k in self._in_space.get(sid, ())]

    def tasks_in(self, space_ids: Iterable[str]) -> list[Json]:
        """Every stored task on a page of the spaces."""
        return [t for p in self.pages_in(space_ids) for t in self._tasks_of.get(p["id"], ())]

    def page_tasks(self, page_id: str) -> list[Json]:
        """The page's tasks (stored objects), by local id."""
        return self._page_tasks(page_id)

    def _page_tasks(self, page_id: str) -> list[Json]:
        return sorted(self._tasks_of.get(page_id, ()), key=lambda t: int(t["localId"]))

    def _new_version(self, page: Json, author_id: str, when: str, *, body: str,
                     title: str, message: str = "", minor_edit: bool = False) -> None:
        """Make `body`/`title` the page's content as version n+1 by `author_id`."""
        number = page["version"]["number"] + 1 if page.get("version") else 1
        version = {"number": number, "message": message, "minorEdit": minor_edit,
                   "authorId": author_id, "createdAt": when}
        page["title"] = title
        page["body"] = {"storage": {"representation": "storage", "value": body}}
        page["version"] = version
        page["_links"] = self._links(page)
        self.versions.setdefault(page["id"], []).append(
            {**version, "page": {"id": page["id"], "title": title,
                                 "body": copy.deepcopy(page["body"])}})

    def _body(self, page: Json) -> str:
        return str(page["body"]["storage"]["value"])

    def _rewrite_task_in_body(self, task: Json) -> str:
        """The page body with this task's status and body as the task now has them."""
        page = self.pages[task["pageId"]]
        value = task["body"]["storage"]["value"]
        body, hits = _task_pattern(task["localId"]).subn(
            lambda m: f"{m[1]}{task['status']}{m[3]}{value}{m[5]}", self._body(page))
        if not hits:  # the task's markup was edited away: write it back
            body += task_list_markup([task])
        return body

    # ------------------------------------------------------------ spaces

    def create_space(self, key: str, name: str, author_id: str, *,
                     description: str = "", space_type: str = "global",
                     homepage_body: str = "", at: datetime | None = None) -> Json:
        """Create a space and its homepage (a page titled `name` + " Home")."""
        with self.lock:
            if any(s["key"] == key for s in self.spaces.values()):
                raise ConfluenceError(400, f"A space with key {key} already exists")
            when = self._now(at)
            space_id = str(self._next_space)
            self._next_space += 1
            space: Json = {
                "id": space_id, "key": key, "name": name, "type": space_type,
                "status": "current", "authorId": author_id, "createdAt": when,
                "homepageId": None,
                "description": {"plain": {"representation": "plain", "value": description}},
                "icon": None, "_links": {"webui": f"/spaces/{key}"}}
            self.spaces[space_id] = space
            home = self._insert_page(space_id, f"{name} Home", homepage_body, author_id,
                                     parent_id=None, owner_id=author_id, when=when)
            space["homepageId"] = home["id"]
            return copy.deepcopy(space)

    # ------------------------------------------------------------ pages

    def _insert_page(self, space_id: str, title: str, body: str, author_id: str, *,
                     parent_id: str | None, owner_id: str | None, when: str,
                     message: str = "") -> Json:
        page_id = str(self._next_content)
        self._next_content += 1
        position = len(self._children(parent_id)) if parent_id else 0
        page: Json = {
            "id": page_id, "status": "current", "title": title, "spaceId": space_id,
            "parentId": parent_id, "parentType": "page" if parent_id else None,
            "position": position, "authorId": author_id,
            "ownerId": owner_id or author_id, "lastOwnerId": None, "createdAt": when}
        self.pages[page_id] = page
        self._reparent(page, parent_id)
        self._in_space.setdefault(space_id, {})[page_id] = None
        self._new_version(page, author_id, when, body=body, title=title, message=message)
        return page

    def create_page(self, space_id: str, title: str, body: str, author_id: str, *,
                    parent_id: str | None = None, owner_id: str | None = None,
                    tasks: Sequence[NewTask] = (), message: str = "",
                    at: datetime | None = None) -> Json:
        """Create a page (under `parent_id`, else the space homepage), with inline tasks
        created by the author appended to the body; version 1."""
        with self.lock:
            space = self._space(space_id)
            if parent_id is not None:
                parent = self._page(parent_id)
                if parent["spaceId"] != space["id"]:
                    raise ConfluenceError(400, "The parent page is in another space")
            when = self._now(at)
            if any(p["title"] == title and p["status"] == "current"
                   for p in self._space_pages(space["id"])):
                # Titles are unique among a space's current pages.
                raise ConfluenceError(400, f"A page titled {title!r} already exists")
            page = self._insert_page(space["id"], title, body, author_id,
                                     parent_id=parent_id or space["homepageId"],
                                     owner_id=owner_id, when=when, message=message)
            made = [self._insert_task(page, t, author_id, when) for t in tasks]
            if made:
                # Rewrite version 1 in place: the tasks were part of the first save.
                value = body + task_list_markup(made)
                page["body"]["storage"]["value"] = value
                self.versions[page["id"]][-1]["page"]["body"]["storage"]["value"] = value
            return copy.deepcopy(page)

    def edit_page(self, page_id: str, author_id: str, *, body: str | None = None,
                  title: str | None = None, message: str = "", minor_edit: bool = False,
                  at: datetime | None = None) -> Json:
        """Save a new version of the page by `author_id` (new body and/or title)."""
        with self.lock:
            page = self._page(page_id)
            new_body = self._body(page) if body is None else body
            tasks = self._page_tasks(page["id"])
            if tasks and "<ac:task-list>" not in new_body:
                # The editor keeps inline tasks unless they are deleted one by one.
                new_body += task_list_markup(tasks)
            self._new_version(page, author_id, self._now(at), body=new_body,
                              title=title or page["title"], message=message,
                              minor_edit=minor_edit)
            return copy.deepcopy(page)

    def move_page(self, page_id: str, author_id: str, *, parent_id: str | None = None,
                  space_id: str | None = None, at: datetime | None = None) -> Json:
        """Move a page under another parent and/or into another space (with its subtree).

        Moving through the v2 API is an update of the page, so it saves a new version
        by `author_id`; the descendants change space without new versions.
        """
        with self.lock:
            page = self._page(page_id)
            target_space = self._space(space_id or page["spaceId"])
            if parent_id is None:
                parent_id = target_space["homepageId"]
            parent = self._page(str(parent_id))
            subtree = self._descendants(page["id"])
            if parent["id"] in {page["id"], *(d["id"] for d in subtree)}:
                raise ConfluenceError(400, "A page cannot move under itself")
            if parent["spaceId"] != target_space["id"]:
                raise ConfluenceError(400, "The new parent is in another space")
            self._reparent(page, parent["id"])
            page["parentType"] = "page"
            page["position"] = len(self._children(parent["id"])) - 1
            for moved in [page, *subtree]:
                self._in_space.get(moved["spaceId"], {}).pop(moved["id"], None)
                self._in_space.setdefault(target_space["id"], {})[moved["id"]] = None
                moved["spaceId"] = target_space["id"]
                moved["_links"] = self._links(moved)
                for task in self._page_tasks(moved["id"]):
                    task["spaceId"] = target_space["id"]
            self._new_version(page, author_id, self._now(at), body=self._body(page),
                              title=page["title"], message="Moved page")
            return copy.deepcopy(page)

    def change_owner(self, page_id: str, owner_id: str) -> Json:
        """Hand the page to a new owner; the old one becomes `lastOwnerId` (no version)."""
        with self.lock:
            page = self._page(page_id)
            if page["ownerId"] != owner_id:
                page["lastOwnerId"] = page["ownerId"]
                page["ownerId"] = owner_id
            return copy.deepcopy(page)

    def delete_page(self, page_id: str, *, purge: bool = False) -> Json:
        """Move a current page to the trash; with `purge`, delete a trashed one for good.

        Like Confluence, neither saves a version (the modified date stays), and the
        children of a trashed page move up to its parent.
        """
        with self.lock:
            page = self._page(page_id, live=False)
            if purge:
                if page["status"] != "trashed":
                    raise ConfluenceError(400, "Only a trashed page can be purged")
                page["status"] = "deleted"
                return copy.deepcopy(page)
            if page["status"] != "current":
                raise ConfluenceError(409, f"Page {page_id} is {page['status']}")
            if any(s["homepageId"] == page["id"] for s in self.spaces.values()):
                raise ConfluenceError(400, "A space homepage cannot be deleted")
            for child in self._children(page["id"]):
                self._reparent(child, page["parentId"])
            page["status"] = "trashed"
            return copy.deepcopy(page)

    def restore_page(self, page_id: str) -> Json:
        """Bring a trashed page back to `current` (no version)."""
        with self.lock:
            page = self._page(page_id, live=False)
            if page["status"] != "trashed":
                raise ConfluenceError(409, f"Page {page_id} is not in the trash")
            page["status"] = "current"
            return copy.deepcopy(page)

    # ------------------------------------------------------------ tasks

    def _insert_task(self, page: Json, spec: NewTask, created_by: str, when: str) -> Json:
        task_id = str(self._next_task)
        self._next_task += 1
        local_id = str(max((int(t["localId"]) for t in self._page_tasks(page["id"])),
                           default=0) + 1)
        task: Json = {
            "id": task_id, "localId": local_id, "spaceId": page["spaceId"],
            "pageId": page["id"], "blogPostId": None, "status": "incomplete",
            "body": {"storage": {"representation": "storage",
                                 "value": _task_body(spec.text, spec.assigned_to,
                                                     spec.due_at)}},
            "createdBy": created_by, "assignedTo": spec.assigned_to, "completedBy": None,
            "createdAt": when, "updatedAt": when,
            "dueAt": format_time(spec.due_at) if spec.due_at is not None else None,
            "completedAt": None,
            # What the body text says, kept to re-render the body on reassign/due change.
            "_text": spec.text}
        self.tasks[task_id] = task
        self._tasks_of.setdefault(page["id"], []).append(task)
        return task

    def create_task(self, page_id: str, text: str, created_by: str, *,
                    assigned_to: str | None = None, due_at: datetime | None = None,
                    at: datetime | None = None) -> Json:
        """Add an inline task to a page: an edit of the page by `created_by`."""
        with self.lock:
            page = self._page(page_id)
            when = self._now(at)
            task = self._insert_task(page, NewTask(text, assigned_to, due_at), created_by,
                                     when)
            body = self._body(page)
            markup = _task_markup(task["localId"], "incomplete",
                                  task["body"]["storage"]["value"])
            if "</ac:task-list>" in body:
                head, _, tail = body.rpartition("</ac:task-list>")
                body = f"{head}{markup}</ac:task-list>{tail}"
            else:
                body += f"<ac:task-list>{markup}</ac:task-list>"
            self._new_version(page, created_by, when, body=body, title=page["title"])
            return _public(task)

    def _set_status(self, task_id: str, status: str, by: str | None,
                    at: datetime | None) -> Json:
        with self.lock:
            task = self._task(task_id)
            self._page(task["pageId"])
            if task["status"] == status:
                return _public(task)
            when = self._now(at)
            task["status"] = status
            task["completedBy"] = by if status == "complete" else None
            task["completedAt"] = when if status == "complete" else None
            task["updatedAt"] = when
            # Ticking the box rewrites the body in place: no new page version.
            page = self.pages[task["pageId"]]
            value = self._rewrite_task_in_body(task)
            page["body"]["storage"]["value"] = value
            self.versions[page["id"]][-1]["page"]["body"]["storage"]["value"] = value
            return _public(task)

    def complete_task(self, task_id: str, by: str, *, at: datetime | None = None) -> Json:
        """Tick the task's checkbox as `by` (no new page version)."""
        return self._set_status(task_id, "complete", by, at)

    def reopen_task(self, task_id: str, *, at: datetime | None = None) -> Json:
        """Untick the task's checkbox (no new page version)."""
        return self._set_status(task_id, "incomplete", None, at)

    def _edit_task(self, task_id: str, by: str, at: datetime | None, *,
                   assigned_to: str | None, due_at: datetime | None) -> Json:
        with self.lock:
            task = self._task(task_id)
            page = self._page(task["pageId"])
            when = self._now(at)
            task["assignedTo"] = assigned_to
            task["dueAt"] = format_time(due_at) if due_at is not None else None
            task["body"]["storage"]["value"] = _task_body(task["_text"], assigned_to, due_at)
            task["updatedAt"] = when
            # The @mention and the date live in the body: changing them edits the page.
            self._new_version(page, by, when, body=self._rewrite_task_in_body(task),
                              title=page["title"])
            return _public(task)

    def reassign_task(self, task_id: str, assigned_to: str | None, by: str, *,
                      at: datetime | None = None) -> Json:
        """Give the task to someone else (or nobody): an edit of its page by `by`."""
        with self.lock:
            due = self._task(task_id)["dueAt"]
            return self._edit_task(task_id, by, at, assigned_to=assigned_to,
                                   due_at=parse_time(due) if due else None)

    def change_task_due(self, task_id: str, due_at: datetime | None, by: str, *,
                        at: datetime | None = None) -> Json:
        """Move (or clear) the task's due date: an edit of its page by `by`."""
        with self.lock:
            assignee = self._task(task_id)["assignedTo"]
            return self._edit_task(task_id, by, at, assigned_to=assignee, due_at=due_at)

    # ------------------------------------------------------------ persistence

    def dump(self, folder: Path) -> None:
        """Write spaces, pages, versions and tasks as JSON Lines files under `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            rows: dict[str, Iterable[Json]] = {
                "spaces": self.spaces.values(),
                "pages": self.pages.values(),
                "versions": (v for vs in self.versions.values() for v in vs),
                "tasks": self.tasks.values(),
            }
            for name in FILES:
                with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as out:
                    for row in rows[name]:
                        out.write(json.dumps(row, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: Path, clock: Callable[[], datetime] | None = None,
             api_tokens: dict[str, str] | None = None) -> ConfluenceStore:
        """Read what `dump` wrote into a new store."""
        store = cls(clock, api_tokens)

        def read(name: str) -> list[Json]:
            path = folder / f"{name}.jsonl"
            if not path.exists():
                return []
            return read_jsonl(path)

        store.spaces = {s["id"]: s for s in read("spaces")}
        store.pages = {p["id"]: p for p in read("pages")}
        for version in read("versions"):
            store.versions.setdefault(version["page"]["id"], []).append(version)
        for history in store.versions.values():
            history.sort(key=lambda v: v["number"])
        store.tasks = {t["id"]: t for t in read("tasks")}
        for page in store.pages.values():
            store._in_space.setdefault(page["spaceId"], {})[page["id"]] = None
            if page["parentId"]:
                store._kids.setdefault(page["parentId"], {})[page["id"]] = None
        for task in store.tasks.values():
            store._tasks_of.setdefault(task["pageId"], []).append(task)
        # Carry on the id sequences after the highest id in use.
        store._next_space = max((int(i) + 1 for i in store.spaces), default=98305)
        store._next_content = max((int(i) + 1 for i in store.pages), default=163841)
        store._next_task = max((int(i) + 1 for i in store.tasks), default=2001)
        return store


def _public(task: Json) -> Json:
    """A copy of a task without the store's private fields."""
    return {k: copy.deepcopy(v) for k, v in task.items() if not k.startswith("_")}
