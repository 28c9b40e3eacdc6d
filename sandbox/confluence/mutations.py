"""The Confluence stand-in's mutation API under `/_sandbox/confluence/...` (JSON in and
out, exempt from faults and auth): change the world between syncs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.confluence.store import ConfluenceError, ConfluenceStore, Json, NewTask, parse_time

__all__ = ["SANDBOX", "sandbox_routes"]

SANDBOX = "/_sandbox/confluence"
Render = Callable[[Json, str | None], Json]


def sandbox_routes(store: ConfluenceStore, render_page: Render, render_task: Render
                   ) -> list[Route]:
    """The mutation routes over `store`; results rendered like the API renders them."""
    _render_page, _render_task = render_page, render_task


    def _when(data: Json, name: str = "at") -> datetime | None:
        value = data.get(name)
        return parse_time(value) if value else None

    def sandbox(action: Callable[[Json, str], Json]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise ConfluenceError(400, "The body is not JSON") from None
            if not isinstance(data, dict):
                raise ConfluenceError(400, "The body must be a JSON object")
            try:
                result = action(data, str(request.path_params.get("id", "")))
            except KeyError as missing:
                raise ConfluenceError(400, f"Missing field {missing}") from None
            if "pageId" in result:  # a task
                return JSONResponse(_render_task(result, "storage"))
            if "key" in result:  # a space
                return JSONResponse(result)
            return JSONResponse(_render_page(result, "storage"))
        return endpoint

    def new_space(data: Json, _: str) -> Json:
        return store.create_space(data["key"], data["name"], data["authorId"],
                                  description=data.get("description", ""), at=_when(data))

    def new_page(data: Json, _: str) -> Json:
        tasks = [NewTask(t["text"], t.get("assignedTo"), _when(t, "dueAt"))
                 for t in data.get("tasks", [])]
        return store.create_page(str(data["spaceId"]), data["title"], data.get("body", ""),
                                 data["authorId"], parent_id=data.get("parentId"),
                                 owner_id=data.get("ownerId"), tasks=tasks,
                                 message=data.get("message", ""), at=_when(data))

    def edit(data: Json, page_id: str) -> Json:
        return store.edit_page(page_id, data["authorId"], body=data.get("body"),
                               title=data.get("title"), message=data.get("message", ""),
                               minor_edit=bool(data.get("minorEdit", False)), at=_when(data))

    def move(data: Json, page_id: str) -> Json:
        return store.move_page(page_id, data["authorId"], parent_id=data.get("parentId"),
                               space_id=data.get("spaceId"), at=_when(data))

    def owner(data: Json, page_id: str) -> Json:
        return store.change_owner(page_id, data["ownerId"])

    def delete(data: Json, page_id: str) -> Json:
        return store.delete_page(page_id, purge=bool(data.get("purge", False)))

    def restore(data: Json, page_id: str) -> Json:
        return store.restore_page(page_id)

    def new_task(data: Json, _: str) -> Json:
        return store.create_task(str(data["pageId"]), data["text"], data["createdBy"],
                                 assigned_to=data.get("assignedTo"),
                                 due_at=_when(data, "dueAt"), at=_when(data))

    def complete(data: Json, task_id: str) -> Json:
        return store.complete_task(task_id, data["by"], at=_when(data))

    def reopen(data: Json, task_id: str) -> Json:
        return store.reopen_task(task_id, at=_when(data))

    def assign(data: Json, task_id: str) -> Json:
        return store.reassign_task(task_id, data.get("assignedTo"), data["by"], at=_when(data))

    def due(data: Json, task_id: str) -> Json:
        return store.change_task_due(task_id, _when(data, "dueAt"), data["by"], at=_when(data))

    return [
        Route(f"{SANDBOX}/spaces", sandbox(new_space), methods=["POST"]),
        Route(f"{SANDBOX}/pages", sandbox(new_page), methods=["POST"]),
        Route(f"{SANDBOX}/pages/{{id}}/edit", sandbox(edit), methods=["POST"]),
        Route(f"{SANDBOX}/pages/{{id}}/move", sandbox(move), methods=["POST"]),
        Route(f"{SANDBOX}/pages/{{id}}/owner", sandbox(owner), methods=["POST"]),
        Route(f"{SANDBOX}/pages/{{id}}/delete", sandbox(delete), methods=["POST"]),
        Route(f"{SANDBOX}/pages/{{id}}/restore", sandbox(restore), methods=["POST"]),
        Route(f"{SANDBOX}/tasks", sandbox(new_task), methods=["POST"]),
        Route(f"{SANDBOX}/tasks/{{id}}/complete", sandbox(complete), methods=["POST"]),
        Route(f"{SANDBOX}/tasks/{{id}}/reopen", sandbox(reopen), methods=["POST"]),
        Route(f"{SANDBOX}/tasks/{{id}}/assign", sandbox(assign), methods=["POST"]),
        Route(f"{SANDBOX}/tasks/{{id}}/due", sandbox(due), methods=["POST"]),
    ]
