"""The GET endpoints of the GitHub stand-in, and the vocabulary they answer in.

Each handler takes the app, the request and the path parameters and returns an `Answer`;
`sandbox.github.app.GitHubAPI` does the rest (auth, budget, pagination, ETags). Lists
are returned whole with `Answer.paged` naming the path their ``Link`` headers use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from sandbox.github.commits import EmptyRepositoryError
from sandbox.github.payloads import DOCS, parse_iso
from sandbox.github.queries import NotFoundError
from sandbox.github.search import MAX_RESULTS, parse_query

if TYPE_CHECKING:
    from sandbox.github.app import GitHubAPI

__all__ = ["ROUTES", "Answer", "InvalidError", "Route", "error_body", "token_of"]


def error_body(message: str, status: int, **extra: Any) -> dict[str, Any]:
    """GitHub's error shape: a message, a documentation link, and the status as text."""
    return {"message": message, **extra, "documentation_url": DOCS, "status": str(status)}


class InvalidError(ValueError):
    """A request parameter GitHub would reject with 422 Validation Failed."""

    def __init__(self, message: str, field: str, resource: str = "Issue") -> None:
        super().__init__(message)
        self.field, self.resource = field, resource


@dataclass
class Answer:
    """What a route handler returns; `paged` marks a list to paginate under that path."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    paged: str | None = None
    last_modified: str | None = None
    #: with `paged`: the payload is an object whose list under this key is paginated
    paged_key: str | None = None


def token_of(request: Request) -> str:
    """The token of an ``Authorization: token X`` or ``Bearer X`` header, else ""."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") else ""


#: (method, path pattern, handler) for every endpoint served.
Route = tuple[str, re.Pattern[str], Callable[[Any, Request, dict[str, str]], Answer]]
ROUTES: list[Route] = []
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


def _get(pattern: str) -> Callable[[Callable[..., Answer]], Callable[..., Answer]]:
    def register(handler: Callable[..., Answer]) -> Callable[..., Answer]:
        ROUTES.append(("GET", re.compile(f"^{pattern}/?$"), handler))
        return handler
    return register


def _repo_name(api: GitHubAPI, params: dict[str, str]) -> str:
    # GitHub matches owner and repository names without regard to case.
    wanted = f"{params['owner']}/{params['repo']}".lower()
    for name in api.store.repos:
        if name.lower() == wanted:
            return name
    raise NotFoundError(wanted)


def _repo_path(api: GitHubAPI, name: str, tail: str) -> str:
    # GitHub's Link headers name repositories by id: /repositories/{id}/issues?page=2
    return f"/repositories/{api.store.repos[name]['id']}/{tail}"


def _http_date(iso_text: str) -> str:
    return format_datetime(parse_iso(iso_text), usegmt=True)


# ---------------------------------------------------------------- routes


@_get("/rate_limit")
def _rate_limit(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    remaining, reset = api.peek(token_of(request))
    core = {"limit": api.budget.limit, "used": api.budget.limit - remaining,
            "remaining": remaining, "reset": int(reset)}
    resources = {"core": core, **{name: {"limit": limit, "used": 0, "remaining": limit,
                                         "reset": int(reset)}
                                  for name, limit in (("search", 30), ("graphql", 5000),
                                                      ("integration_manifest", 5000),
                                                      ("source_import", 100),
                                                      ("code_scanning_upload", 500),
                                                      ("actions_runner_registration", 10000),
                                                      ("scim", 15000),
                                                      ("dependency_snapshots", 100),
                                                      ("code_search", 10),
                                                      ("code_scanning_autofix", 10))}}
    return Answer(200, {"resources": resources, "rate": dict(core)})


@_get("/search/issues")
def _search_issues(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    q = request.query_params
    try:
        query = parse_query(q.get("q", ""))
    except ValueError as bad:
        raise InvalidError(str(bad), "q", "Search") from bad
    per_page = min(100, max(1, int(q.get("per_page") or 30)))
    if (max(1, int(q.get("page") or 1)) - 1) * per_page >= MAX_RESULTS:
        raise InvalidError(f"Only the first {MAX_RESULTS} search results are available",
                           "page", "Search")
    key = "created_at" if q.get("sort") == "created" else "updated_at"
    total, rows = api.store.search_issues(query, key, q.get("order", "desc"))
    return Answer(200, {"total_count": total, "incomplete_results": False, "items": rows},
                  paged="/search/issues", paged_key="items")


@_get("/user")
def _me(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    login = api.store.user_for_token(token_of(request)) or ""
    return Answer(200, api.store.user(login, private=True))


@_get(r"/users/(?P<login>[^/]+)")
def _user(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    user = api.store.user(params["login"])
    return Answer(200, user, last_modified=_http_date(user["updated_at"]))


@_get(r"/orgs/(?P<org>[^/]+)")
def _org(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    return Answer(200, api.store.org_json(params["org"]))


@_get(r"/orgs/(?P<org>[^/]+)/repos")
def _org_repos(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    q = request.query_params
    rows = api.store.org_repos(params["org"], sort=q.get("sort", "created"),
                               direction=q.get("direction"))
    return Answer(200, rows, paged=f"/orgs/{params['org']}/repos")


@_get(r"/orgs/(?P<org>[^/]+)/members")
def _members(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    return Answer(200, api.store.member_list(params["org"]),
                  paged=f"/orgs/{params['org']}/members")


@_get(_REPO)
def _repo(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    repo = api.store.repo(_repo_name(api, params))
    return Answer(200, repo, last_modified=_http_date(repo["updated_at"]))


@_get(_REPO + "/issues")
def _issues(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name, q = _repo_name(api, params), request.query_params
    since = q.get("since")
    try:
        moment = parse_iso(since) if since else None
    except ValueError as bad:
        raise InvalidError(f"since is not an ISO 8601 timestamp: {since}", "since") from bad
    rows = api.store.list_issues(
        name, state=q.get("state", "open"), since=moment, sort=q.get("sort", "created"),
        direction=q.get("direction", "desc"),
        labels=[lb for lb in q.get("labels", "").split(",") if lb] or None,
        assignee=q.get("assignee"), creator=q.get("creator"), milestone=q.get("milestone"))
    return Answer(200, rows, paged=_repo_path(api, name, "issues"))


@_get(_REPO + "/commits")
def _commits(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name, q = _repo_name(api, params), request.query_params
    moments: dict[str, datetime | None] = {}
    for field_name in ("since", "until"):
        text = q.get(field_name)
        try:
            moments[field_name] = parse_iso(text) if text else None
        except ValueError as bad:
            raise InvalidError(f"{field_name} is not an ISO 8601 timestamp: {text}",
                               field_name, resource="Commit") from bad
    try:
        rows = api.store.list_commits(name, since=moments["since"], until=moments["until"],
                                      author=q.get("author"))
    except EmptyRepositoryError:
        return Answer(409, error_body("Git Repository is empty.", 409))
    return Answer(200, rows, paged=_repo_path(api, name, "commits"))


@_get(_REPO + r"/issues/(?P<number>\d+)")
def _issue(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    issue = api.store.issue(_repo_name(api, params), int(params["number"]))
    return Answer(200, issue, last_modified=_http_date(issue["updated_at"]))


@_get(_REPO + "/pulls")
def _pulls(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name, q = _repo_name(api, params), request.query_params
    rows = api.store.list_pulls(name, state=q.get("state", "open"), head=q.get("head"),
                                base=q.get("base"), sort=q.get("sort", "created"),
                                direction=q.get("direction"))
    return Answer(200, rows, paged=_repo_path(api, name, "pulls"))


@_get(_REPO + r"/pulls/(?P<number>\d+)")
def _pull(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    pull = api.store.pull(_repo_name(api, params), int(params["number"]))
    return Answer(200, pull, last_modified=_http_date(pull["updated_at"]))


@_get(_REPO + r"/pulls/(?P<number>\d+)/requested_reviewers")
def _reviewers(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    return Answer(200, api.store.requested_reviewers(_repo_name(api, params),
                                                     int(params["number"])))


@_get(_REPO + "/milestones")
def _milestones(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name, q = _repo_name(api, params), request.query_params
    rows = api.store.list_milestones(name, state=q.get("state", "open"),
                                     sort=q.get("sort", "due_on"),
                                     direction=q.get("direction", "asc"))
    return Answer(200, rows, paged=_repo_path(api, name, "milestones"))


@_get(_REPO + r"/milestones/(?P<number>\d+)")
def _milestone(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name = _repo_name(api, params)
    found = [m for m in api.store.list_milestones(name, state="all")
             if m["number"] == int(params["number"])]
    if not found:
        raise NotFoundError(params["number"])
    return Answer(200, found[0])


@_get(_REPO + "/labels")
def _labels(api: GitHubAPI, request: Request, params: dict[str, str]) -> Answer:
    name = _repo_name(api, params)
    with api.store.lock:
        rows = sorted((dict(lb) for lb in api.store.labels[name].values()),
                      key=lambda lb: lb["name"].lower())
    return Answer(200, rows, paged=_repo_path(api, name, "labels"))
