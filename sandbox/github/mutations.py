"""The sandbox's own HTTP API for changing the GitHub world between syncs.

Everything under ``/_sandbox/github`` (exempt from faults, auth and the rate budget):

- ``POST   /_sandbox/github/tokens`` ``{"token", "login"}``
- ``POST   /_sandbox/github/repos/{o}/{r}/issues`` ``{"title", "user", "body"?, "assignees"?,
  "labels"?, "milestone"?}``
- ``POST   /_sandbox/github/repos/{o}/{r}/pulls`` the same plus ``"head"``, ``"base"``?,
  ``"draft"``?, ``"reviewers"``?
- ``PATCH  /_sandbox/github/repos/{o}/{r}/issues/{n}`` any of ``title``, ``body``,
  ``labels``, ``assignees``, ``milestone`` (number or null), ``state`` with
  ``state_reason``, ``draft``
- ``DELETE /_sandbox/github/repos/{o}/{r}/issues/{n}``
- ``POST   /_sandbox/github/repos/{o}/{r}/issues/{n}/transfer`` ``{"to": "o/r2"}``
- ``POST|DELETE /_sandbox/github/repos/{o}/{r}/pulls/{n}/requested_reviewers``
  ``{"reviewers": [...]}``
- ``PUT    /_sandbox/github/repos/{o}/{r}/pulls/{n}/merge`` ``{"by"?}``
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.github.payloads import DOCS
from sandbox.github.queries import NotFoundError
from sandbox.github.store import GitHubStore

__all__ = ["handle_mutation"]

_PREFIX = "/_sandbox/github"
_ITEM = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/(?P<kind>issues|pulls)"
                   r"(?:/(?P<number>\d+))?(?:/(?P<action>transfer|requested_reviewers|merge))?/?$")


def _error(status: int, message: str) -> Response:
    return JSONResponse({"message": message, "documentation_url": DOCS, "status": str(status)},
                        status_code=status)


async def handle_mutation(store: GitHubStore, request: Request) -> Response:
    """Apply one sandbox mutation; answers with the changed object in GitHub's shape."""
    path = request.url.path[len(_PREFIX):]
    try:
        body: dict[str, Any] = await request.json() if await request.body() else {}
    except json.JSONDecodeError:
        return _error(400, "Problems parsing JSON")
    try:
        result = _apply(store, request.method, path, body)
    except NotFoundError as missing:
        return _error(404, f"Not Found: {missing}")
    except (KeyError, TypeError, ValueError) as problem:
        return _error(422, f"Validation Failed: {problem}")
    if result is None:
        return Response(status_code=204)
    status = 201 if request.method == "POST" else 200
    return JSONResponse(result, status_code=status)


def _apply(store: GitHubStore, method: str, path: str, body: dict[str, Any]) -> Any:
    if path.rstrip("/") == "/tokens" and method == "POST":
        store.add_token(body["token"], body["login"])
        return {"token": body["token"], "login": body["login"]}
    match = _ITEM.match(path)
    if match is None:
        raise NotFoundError(path)
    repo, kind, action = match["repo"], match["kind"], match["action"]
    number = int(match["number"]) if match["number"] else None
    common = {"body": body.get("body"), "assignees": body.get("assignees", ()),
              "labels": body.get("labels", ()), "milestone": body.get("milestone")}
    if number is None and method == "POST":
        if kind == "issues":
            return store.create_issue(repo, body["title"], user=body["user"], **common)
        return store.create_pull(repo, body["title"], user=body["user"], head=body["head"],
                                 base=body.get("base"), draft=bool(body.get("draft", False)),
                                 reviewers=body.get("reviewers", ()), **common)
    if number is None:
        raise NotFoundError(path)
    if action == "transfer" and method == "POST":
        return store.transfer(repo, number, body["to"])
    if action == "requested_reviewers" and method in ("POST", "DELETE"):
        return store.request_reviewers(repo, number, body["reviewers"],
                                       remove=method == "DELETE")
    if action == "merge" and method == "PUT":
        return store.merge(repo, number, by=body.get("by"))
    if action is None and method == "DELETE" and kind == "issues":
        store.delete(repo, number)
        return None
    if action is None and method == "PATCH":
        return _edit(store, repo, number, body)
    raise NotFoundError(path)


def _edit(store: GitHubStore, repo: str, number: int, body: dict[str, Any]) -> Any:
    result: Any = store.issue(repo, number)
    if {"title", "body", "labels"} & body.keys():
        result = store.edit(repo, number, title=body.get("title"), body=body.get("body"),
                            labels=body.get("labels"))
    if "assignees" in body:
        result = store.reassign(repo, number, body["assignees"])
    if "milestone" in body:
        result = store.set_milestone(repo, number, body["milestone"])
    if "draft" in body:
        result = store.set_draft(repo, number, bool(body["draft"]))
    if body.get("state") == "closed" and result["state"] != "closed":
        result = store.close(repo, number, state_reason=body.get("state_reason") or "completed",
                             by=body.get("by"))
    elif body.get("state") == "open" and result["state"] != "open":
        result = store.reopen(repo, number)
    return result
