"""The Confluence Cloud REST v2 stand-in as an ASGI app, served under `/wiki/api/v2`.

It answers the read endpoints workhub's Confluence connector uses (spaces, pages,
page versions, tasks) with the parameter names of Atlassian's OpenAPI description,
Confluence's cursor pagination (an opaque `cursor`, `_links.next` relative to the site
and a `Link: <...>; rel="next"` header, `_links.base`), Basic auth (email:API token)
and Confluence's error body `{"errors": [{"status", "code", "title", "detail"}]}`.
Mutations that change the world between syncs are under `/_sandbox/confluence/...`,
unauthenticated and exempt from faults.
"""

from __future__ import annotations

import base64
import binascii
import copy
import heapq
import html
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.confluence.mutations import sandbox_routes
from sandbox.confluence.store import (
    ConfluenceError,
    ConfluenceStore,
    Json,
    format_time,
)
from sandbox.faults import Fault, FaultMiddleware, FaultPlan
from sandbox.jsonbody import JsonResponse
from workhub.jsonio import copied

__all__ = ["API", "create_app", "error_response", "render_fault"]

#: Where the v2 API lives on a Confluence Cloud site.
API = "/wiki/api/v2"
#: Where the stand-in's own mutation API lives (no auth, no faults).
#: Confluence's default and largest page size for every listing.
DEFAULT_LIMIT = 25
MAX_LIMIT = 250

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}
_CODES = {400: "INVALID_REQUEST_PARAMETER", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
          404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT",
          429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR",
          503: "SERVICE_UNAVAILABLE"}

PAGE_SORTS = ("id", "created-date", "modified-date", "title")
PAGE_LIST_STATUSES = ("current", "archived", "deleted", "trashed")
PAGE_STATUSES = ("current", "archived", "trashed", "deleted", "historical", "draft")
DEFAULT_STATUSES = ("current", "archived")
BODY_FORMATS = ("storage", "atlas_doc_format")
SINGLE_BODY_FORMATS = (*BODY_FORMATS, "view", "export_view", "anonymous_export_view",
                       "styled_view", "editor")


def error_response(status: int, detail: str | None = None,
                   headers: dict[str, str] | None = None) -> JsonResponse:
    """Confluence v2's error body for `status`."""
    body = {"errors": [{"status": status, "code": _CODES.get(status, "ERROR"),
                        "title": _TITLES.get(status, "Error"), "detail": detail}]}
    return JsonResponse(body, status_code=status, headers=headers)


def _rate_headers(info: dict[str, Any]) -> dict[str, str]:
    """Atlassian's rate-limit headers (the reset is an ISO timestamp, not epoch)."""
    if "limit" not in info:
        return {}
    reset = datetime.fromtimestamp(info["reset"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"X-RateLimit-Limit": str(info["limit"]),
            "X-RateLimit-Remaining": str(info["remaining"]), "X-RateLimit-Reset": reset}


def render_fault(kind: str, request: Request, info: dict[str, Any]) -> Response:
    """Shape a fault the way Confluence Cloud does: 500, or 429 with Retry-After."""
    if kind == Fault.server_error:
        return error_response(500, "Something went wrong. Please try again later.")
    headers = {"Retry-After": str(info.get("retry_after", 1)), **_rate_headers(info)}
    if kind == Fault.budget_exhausted:
        headers["RateLimit-Reason"] = "confluence-quota-based"
    return error_response(429, "Rate limit exceeded.", headers)


# ---------------------------------------------------------------- auth


class _BasicAuth:
    """Require Basic email:API-token auth under /wiki/, and add rate-limit headers."""

    def __init__(self, app: ASGIApp, store: ConfluenceStore) -> None:
        self.app = app
        self.store = store

    def _allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            email, sep, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not (sep and email and token):
            return False
        tokens = self.store.api_tokens
        return not tokens or tokens.get(email) == token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/wiki/"):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        if not self._allowed(header):
            await error_response(401, "Current user not permitted to use Confluence")(
                scope, receive, send)
            return
        budget = scope.get("state", {}).get("budget")
        if budget is None:
            await self.app(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in _rate_headers(budget).items()]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


# ---------------------------------------------------------------- query parameters


def _values(request: Request, name: str) -> list[str]:
    """A list parameter: repeated and/or comma-separated, as Confluence accepts both."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return out


def _ids(request: Request, name: str, most: int = 250) -> set[str] | None:
    values = _values(request, name)
    if not values:
        return None
    if len(values) > most:
        # The v2 OpenAPI's maxItems for the filter.
        raise ConfluenceError(400, f"'{name}' takes at most {most} values")
    if not all(v.isdigit() for v in values):
        raise ConfluenceError(400, f"Invalid value for '{name}': ids are integers")
    return {str(int(v)) for v in values}


def _strings(request: Request, name: str) -> set[str] | None:
    return set(_values(request, name)) or None


def _choice(request: Request, name: str, allowed: tuple[str, ...],
            default: str | None = None) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise ConfluenceError(400, f"Invalid value for '{name}': {value}")
    return value


def _choices(request: Request, name: str, allowed: tuple[str, ...],
             default: tuple[str, ...]) -> set[str]:
    values = _values(request, name)
    for value in values:
        if value not in allowed:
            raise ConfluenceError(400, f"Invalid value for '{name}': {value}")
    return set(values or default)


def _sort(request: Request, allowed: tuple[str, ...], default: str) -> tuple[str, bool]:
    """(field, descending) from `sort`, where a leading `-` means descending."""
    value = request.query_params.get("sort") or default
    field = value.removeprefix("-")
    if field not in allowed:
        raise ConfluenceError(400, f"Invalid value for 'sort': {value}")
    return field, value.startswith("-")


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ConfluenceError(400, "'limit' must be an integer") from None
    if limit < 1:
        raise ConfluenceError(400, "'limit' must be at least 1")
    # Atlassian caps an over-large page size instead of refusing it.
    return min(limit, MAX_LIMIT)


def _epoch_ms(request: Request, name: str) -> str | None:
    """An epoch-milliseconds bound, as a timestamp string comparable with the store's."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return format_time(datetime.fromtimestamp(int(raw) / 1000, UTC))
    except (ValueError, OverflowError):
        raise ConfluenceError(400, f"'{name}' must be epoch milliseconds") from None


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    return default if raw is None else raw.lower() == "true"


def _path_id(request: Request) -> str:
    raw = str(request.path_params["id"])
    if not raw.isdigit():
        raise ConfluenceError(400, f"Invalid id: {raw}")
    return str(int(raw))


# ---------------------------------------------------------------- cursor pagination

SortKey = Callable[[Json], tuple[Any, ...]]


def _sort_name(kind: str, field: str, descending: bool) -> str:
    """What a cursor records of the order it was made for, e.g. `page:-modified-date`."""
    return f"{kind}:{'-' if descending else ''}{field}"


def _encode_cursor(sort: str, key: tuple[Any, ...]) -> str:
    raw = json.dumps({"sort": sort, "after": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, ...]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = tuple(data["after"])
        same_sort = data["sort"] == sort
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ConfluenceError(400, "Invalid cursor") from None
    if not same_sort:
        raise ConfluenceError(400, "The cursor belongs to another sort order")
    return after


def _paginate(request: Request, pool: Iterable[Json], key: SortKey, descending: bool,
              sort_name: str, keep: Callable[[Json], bool] = lambda _: True,
              ) -> tuple[list[Json], str | None]:
    """One page of the `pool` items that `keep` accepts (ordered by `key`, ties by id
    inside the key) after the request's cursor, and the relative URL of the next page
    if there is one.

    The cursor is the sort key of the last item served (keyset pagination), so a page
    edited or deleted between two requests neither repeats nor shifts the others. Like
    a database walking an index, a page costs the items past the cursor, compared by
    key first, and a partial sort of those: sorting and filtering the whole pool for
    every page made a 91,000-task listing cost 45 sorts of each task.
    """
    cursor = request.query_params.get("cursor")
    after = _decode_cursor(cursor, sort_name) if cursor else None

    def wanted(item: Json) -> bool:
        if after is not None and not (key(item) < after if descending else key(item) > after):
            return False
        return keep(item)

    limit = _limit(request)
    first = heapq.nlargest if descending else heapq.nsmallest
    page = first(limit + 1, filter(wanted, pool), key=key)
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", _encode_cursor(sort_name, key(page[-1]))))
    return page, f"{request.url.path}?{urlencode(params)}"


def _base(request: Request) -> str:
    """The site's base URL (`https://<site>.atlassian.net/wiki` on the real service)."""
    return str(request.base_url).rstrip("/") + "/wiki"


def _listing(request: Request, results: list[Json], next_url: str | None) -> JsonResponse:
    base = _base(request)
    links: Json = {"base": base}
    link_header = f'<{base}>; rel="base"'
    if next_url:
        links = {"next": next_url, "base": base}
        link_header = f'<{next_url}>; rel="next", {link_header}'
    return JsonResponse({"results": results, "_links": links},
                        headers={"Link": link_header})


# ---------------------------------------------------------------- rendering


def _adf(storage: str) -> str:
    """A plain Atlassian Document Format rendering of a storage body (text only)."""
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", storage))).strip()
    para: Json = {"type": "paragraph", "content": [{"type": "text", "text": text}] if text
                  else []}
    return json.dumps({"type": "doc", "version": 1, "content": [para]})


def _body(stored: Json | None, body_format: str | None) -> Json:
    """The `body` field: empty unless a representation was asked for."""
    if not body_format or not stored:
        return {}
    storage = str(stored["storage"]["value"])
    value = _adf(storage) if body_format == "atlas_doc_format" else storage
    return {body_format: {"representation": body_format, "value": value}}


def _render_page(page: Json, body_format: str | None, base: str | None = None) -> Json:
    out = copied({k: v for k, v in page.items() if k != "body"})
    out["body"] = _body(page.get("body"), body_format)
    if base is not None:
        out["_links"]["base"] = base
    return out


def _render_task(task: Json, body_format: str | None) -> Json:
    out = copied({k: v for k, v in task.items() if not k.startswith("_")})
    out["body"] = _body(task["body"], body_format)
    return out


def _render_space(space: Json, description_format: str | None, icon: bool) -> Json:
    out = {k: copy.deepcopy(v) for k, v in space.items()
           if k not in ("description", "icon")}
    if description_format:
        text = space["description"]["plain"]["value"]
        value = text if description_format == "plain" else f"<p>{html.escape(text)}</p>"
        out["description"] = {description_format: {"representation": description_format,
                                                   "value": value}}
    if icon:
        out["icon"] = {"path": "/wiki/images/logo/default-space-logo.svg",
                       "apiDownloadLink": f"/wiki/download/attachments/{space['id']}/icon"}
    return out


# ---------------------------------------------------------------- read endpoints


def _page_key(field: str) -> SortKey:
    if field == "id":
        return lambda p: (int(p["id"]),)
    if field == "created-date":
        return lambda p: (p["createdAt"], int(p["id"]))
    if field == "modified-date":
        # The modified date is the current version's; ties go by id so that a client
        # walking `-modified-date` meets every page exactly once.
        return lambda p: (p["version"]["createdAt"], int(p["id"]))
    return lambda p: (p["title"], int(p["id"]))


def _pages(request: Request, store: ConfluenceStore, space_id: str | None) -> JsonResponse:
    space_ids = {space_id} if space_id else _ids(request, "space-id", most=100)
    page_ids = _ids(request, "id")
    statuses = _choices(request, "status", PAGE_LIST_STATUSES, DEFAULT_STATUSES)
    title = request.query_params.get("title")
    body_format = _choice(request, "body-format", BODY_FORMATS)
    field, descending = _sort(request, PAGE_SORTS, "id")
    root_only = space_id is not None and _choice(
        request, "depth", ("all", "root"), "all") == "root"
    with store.lock:
        if space_id is not None and space_id not in store.spaces:
            raise ConfluenceError(404, f"No space with id {space_id}")
        pool = store.pages.values() if space_ids is None else store.pages_in(space_ids)

        def matches(p: Json) -> bool:
            return (p["status"] in statuses
                    and (space_ids is None or p["spaceId"] in space_ids)
                    and (page_ids is None or p["id"] in page_ids)
                    and (title is None or p["title"] == title)
                    and (not root_only or p["parentId"] is None))

        page, next_url = _paginate(request, pool, _page_key(field), descending,
                                   _sort_name("page", field, descending), matches)
        return _listing(request, [_render_page(p, body_format) for p in page], next_url)


def create_app(store: ConfluenceStore, faults: FaultPlan | None = None) -> ASGIApp:
    """The stand-in app for `store`, wrapped in the fault model with Confluence errors."""

    async def get_spaces(request: Request) -> Response:
        ids = _ids(request, "ids")
        keys = _strings(request, "keys")
        space_type = _choice(request, "type",
                             ("global", "collaboration", "knowledge_base", "personal"))
        status = _choice(request, "status", ("current", "archived"))
        field, descending = _sort(request, ("id", "key", "name"), "id")
        description_format = _choice(request, "description-format", ("plain", "view"))
        icon = _flag(request, "include-icon", False)

        def key(s: Json) -> tuple[Any, ...]:
            return (int(s["id"]),) if field == "id" else (s[field], int(s["id"]))

        with store.lock:
            matches = [s for s in store.spaces.values()
                       if (ids is None or s["id"] in ids) and (keys is None or s["key"] in keys)
                       and (space_type is None or s["type"] == space_type)
                       and (status is None or s["status"] == status)]
            page, next_url = _paginate(request, matches, key, descending,
                                       _sort_name("space", field, descending))
            return _listing(request, [_render_space(s, description_format, icon)
                                      for s in page], next_url)

    async def get_space(request: Request) -> Response:
        space_id = _path_id(request)
        description_format = _choice(request, "description-format", ("plain", "view"))
        with store.lock:
            space = store.spaces.get(space_id)
            if space is None:
                raise ConfluenceError(404, f"No space with id {space_id}")
            out = _render_space(space, description_format,
                                _flag(request, "include-icon", False))
        out["_links"]["base"] = _base(request)
        return JsonResponse(out)

    async def get_pages(request: Request) -> Response:
        return _pages(request, store, None)

    async def get_space_pages(request: Request) -> Response:
        return _pages(request, store, _path_id(request))

    def visible_page(request: Request, page_id: str) -> Json:
        statuses = _choices(request, "status", PAGE_STATUSES, DEFAULT_STATUSES)
        page = store.pages.get(page_id)
        if page is None or page["status"] not in statuses:
            raise ConfluenceError(404, f"No page with id {page_id}")
        return page

    async def get_page(request: Request) -> Response:
        page_id = _path_id(request)
        body_format = _choice(request, "body-format", SINGLE_BODY_FORMATS)
        wanted = request.query_params.get("version")
        with store.lock:
            page = visible_page(request, page_id)
            if wanted:
                # An earlier version: that version's title, body and version object.
                old = next((v for v in store.versions.get(page_id, [])
                            if str(v["number"]) == wanted), None)
                if old is None:
                    raise ConfluenceError(404, f"Page {page_id} has no version {wanted}")
                page = {**page, "title": old["page"]["title"], "body": old["page"]["body"],
                        "version": {k: v for k, v in old.items() if k != "page"}}
            out = _render_page(page, body_format, _base(request))
        if not _flag(request, "include-version", True):
            out.pop("version", None)
        return JsonResponse(out)

    async def get_versions(request: Request) -> Response:
        page_id = _path_id(request)
        body_format = _choice(request, "body-format", BODY_FORMATS)
        field, descending = _sort(request, ("modified-date",), "-modified-date")
        with store.lock:
            visible_page(request, page_id)
            history = []
            for version in store.versions.get(page_id, []):
                item = copy.deepcopy(version)
                item["page"]["body"] = _body(version["page"]["body"], body_format)
                if not body_format:
                    del item["page"]["body"]
                history.append(item)

        def key(v: Json) -> tuple[Any, ...]:
            return (v["createdAt"], v["number"])

        page, next_url = _paginate(request, history, key, descending,
                                   _sort_name("version", field, descending))
        return _listing(request, page, next_url)

    def task_visible(task: Json) -> bool:
        # Tasks on trashed or deleted pages are out of sight, like their pages.
        page = store.pages.get(task["pageId"])
        return page is not None and page["status"] == "current"

    async def get_tasks(request: Request) -> Response:
        body_format = _choice(request, "body-format", BODY_FORMATS)
        status = _choice(request, "status", ("complete", "incomplete"))
        task_ids = _ids(request, "task-id")
        space_ids = _ids(request, "space-id")
        page_ids = _ids(request, "page-id")
        blogpost_ids = _ids(request, "blogpost-id")
        created_by = _strings(request, "created-by")
        assigned_to = _strings(request, "assigned-to")
        completed_by = _strings(request, "completed-by")
        ranges = [(field, _epoch_ms(request, f"{name}-from"), _epoch_ms(request, f"{name}-to"))
                  for field, name in (("createdAt", "created-at"), ("dueAt", "due-at"),
                                      ("completedAt", "completed-at"))]

        def in_ranges(task: Json) -> bool:
            for field, low, high in ranges:
                if low is None and high is None:
                    continue
                value = task.get(field)
                if value is None or (low and value < low) or (high and value > high):
                    return False
            return True

        def on_container(task: Json) -> bool:
            # Page and blog post filters combine: a task matches either (no blog posts
            # exist here, so a blog-post filter alone matches nothing).
            if page_ids is None and blogpost_ids is None:
                return True
            return page_ids is not None and task["pageId"] in page_ids

        with store.lock:
            pool = store.tasks.values() if space_ids is None else store.tasks_in(space_ids)

            def matches(t: Json) -> bool:
                return (task_visible(t)
                        and (status is None or t["status"] == status)
                        and (task_ids is None or t["id"] in task_ids)
                        and (space_ids is None or t["spaceId"] in space_ids)
                        and on_container(t)
                        and (created_by is None or t["createdBy"] in created_by)
                        and (assigned_to is None or t["assignedTo"] in assigned_to)
                        and (completed_by is None or t["completedBy"] in completed_by)
                        and in_ranges(t))

            page, next_url = _paginate(request, pool, lambda t: (int(t["id"]),), False,
                                       "task:id", matches)
            return _listing(request, [_render_task(t, body_format) for t in page], next_url)

    async def get_task(request: Request) -> Response:
        task_id = _path_id(request)
        body_format = _choice(request, "body-format", BODY_FORMATS)
        with store.lock:
            task = store.tasks.get(task_id)
            if task is None or not task_visible(task):
                raise ConfluenceError(404, f"No task with id {task_id}")
            return JsonResponse(_render_task(task, body_format))

    async def delete_page(request: Request) -> Response:
        store.delete_page(_path_id(request), purge=_flag(request, "purge", False))
        return Response(status_code=204)

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ConfluenceError):
            return error_response(exc.status, exc.detail)
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return error_response(status, str(getattr(exc, "detail", "")) or None)

    routes = [
        Route(f"{API}/spaces", get_spaces),
        Route(f"{API}/spaces/{{id}}", get_space),
        Route(f"{API}/spaces/{{id}}/pages", get_space_pages),
        Route(f"{API}/pages", get_pages),
        Route(f"{API}/pages/{{id}}", get_page),
        Route(f"{API}/pages/{{id}}", delete_page, methods=["DELETE"]),
        Route(f"{API}/pages/{{id}}/versions", get_versions),
        Route(f"{API}/tasks", get_tasks),
        Route(f"{API}/tasks/{{id}}", get_task),
        *sandbox_routes(store, _render_page, _render_task),
    ]
    app = Starlette(routes=routes, exception_handlers={ConfluenceError: on_error,
                                                       HTTPException: on_error})
    return FaultMiddleware(_BasicAuth(app, store), faults, render=render_fault,
                           credential_of=lambda r: r.headers.get("authorization", ""))
