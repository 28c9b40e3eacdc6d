"""The GitHub REST v3 stand-in as an ASGI app, served under ``/api/v3`` like GitHub
Enterprise Server (and at the root like api.github.com).

What PyGithub and a careful sync rely on is kept: token auth (401 ``Bad credentials``),
``Link`` pagination with absolute URLs, a strong ``ETag`` on every 200 with
``If-None-Match`` answered by a free 304, ``x-ratelimit-*`` headers from a per-token budget
that runs out (403/429 ``API rate limit exceeded``), secondary limits with
``Retry-After``, 301 for transferred issues and 410 for deleted ones. The sandbox's own
mutation API lives under ``/_sandbox/github`` (see `sandbox.github.mutations`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.faults import Fault, FaultMiddleware, FaultPlan, RateBudget
from sandbox.github.mutations import handle_mutation
from sandbox.github.payloads import API_PATH
from sandbox.github.queries import GoneError, MovedError, NotFoundError
from sandbox.github.routes import ROUTES, Answer, error_body, token_of
from sandbox.github.store import GitHubStore
from sandbox.jsonbody import json_bytes

__all__ = ["GitHubAPI", "create_app"]

#: The primary-limit message; PyGithub recognises a rate limit by its first words.
PRIMARY_MESSAGE = "API rate limit exceeded for user ID {uid}."
#: The secondary-limit message, as GitHub words it (PyGithub matches on it too).
SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. "
                     "Please wait a few minutes before you try again.")
#: Headers GitHub lets browsers read; sent on every answer like the real service.
EXPOSE = ("ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, "
          "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, "
          "X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, "
          "X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class GitHubAPI:
    """The ASGI app proper (without faults): routing, auth, budget, ETags, pagination."""

    def __init__(self, store: GitHubStore, budget: RateBudget, *,
                 limit_status: int = 403) -> None:
        self.store = store
        self.budget = budget
        self.limit_status = limit_status
        self._request_ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if scope["path"].startswith("/_sandbox/github"):
            response = await handle_mutation(self.store, request)
        else:
            response = self.handle(request)
        await response(scope, receive, send)

    # ------------------------------------------------------------ budget and headers

    def _rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        """The x-ratelimit-* headers for a budget as it stands."""
        return {"x-ratelimit-limit": str(self.budget.limit),
                "x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": str(int(reset)),
                "x-ratelimit-used": str(self.budget.limit - remaining),
                "x-ratelimit-resource": "core"}

    def _common(self) -> dict[str, str]:
        return {"x-github-media-type": "github.v3; format=json",
                "x-github-request-id": f"{next(self._request_ids):04X}:5A4D:1B2C:3D4E:5F60",
                "x-github-enterprise-version": "3.14.0",
                "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSE,
                "x-oauth-scopes": "repo, read:org, read:user",
                "x-accepted-oauth-scopes": "repo",
                "vary": "Accept, Authorization, Cookie, X-GitHub-OTP"}

    def _json(self, request: Request, status: int, payload: Any,
              headers: dict[str, str]) -> Response:
        body = json_bytes(payload).replace(self.store.origin.encode(),
                                          _origin(request).encode())
        return Response(body, status_code=status, headers={**self._common(), **headers},
                        media_type="application/json; charset=utf-8")

    def _user_id(self, token: str) -> int:
        login = self.store.user_for_token(token)
        user = self.store.users.get(login or "")
        return user["id"] if user else 1

    def limited(self, request: Request, *, secondary: bool, retry_after: int = 60) -> Response:
        """403/429: the primary budget is spent, or a secondary limit struck."""
        token = token_of(request)
        remaining, reset = self.peek(token)
        headers = self._rate_headers(remaining, reset)
        if secondary:
            headers["retry-after"] = str(retry_after)
            message = SECONDARY_MESSAGE
        else:
            message = PRIMARY_MESSAGE.format(uid=self._user_id(token))
        return self._json(request, self.limit_status, error_body(message, self.limit_status),
                          headers)

    def peek(self, token: str) -> tuple[int, float]:
        """(remaining, reset) of `token`'s budget, without spending any of it."""
        # Spending nothing still rolls the window over once the reset time has passed.
        _, remaining, reset = self.budget.take(token, 0)
        return remaining, reset

    def render_fault(self, kind: str, request: Request, info: dict[str, Any]) -> Response:
        """How GitHub answers each fault the shared FaultMiddleware injects."""
        if kind == Fault.server_error:
            headers = self._rate_headers(*self.peek(token_of(request)))
            return self._json(request, 500, error_body("Server Error", 500), headers)
        return self.limited(request, secondary=kind == Fault.rate_limited,
                            retry_after=int(info.get("retry_after", 60)))

    # ------------------------------------------------------------ the request cycle

    def handle(self, request: Request) -> Response:
        """Authenticate, route, paginate, tag with an ETag and spend the budget."""
        path = request.url.path
        if path.startswith(API_PATH):
            path = path[len(API_PATH):] or "/"
        token = token_of(request)
        if not token or self.store.user_for_token(token) is None:
            # Anonymous callers share one budget entry, so even a 401 reports x-ratelimit-*.
            message = ("Bad credentials" if request.headers.get("authorization")
                       else "Requires authentication")
            return self._json(request, 401, error_body(message, 401),
                              self._rate_headers(*self.peek("")))
        remaining, reset = self.peek(token)
        if remaining <= 0:
            return self.limited(request, secondary=False)
        answer = self._route(request, path)
        headers = dict(answer.headers)
        payload = answer.payload
        if answer.paged is not None and answer.status == 200:
            if answer.paged_key is None:
                payload, link = self._paginate(request, answer.paged, payload)
            else:
                rows, link = self._paginate(request, answer.paged, payload[answer.paged_key])
                payload = {**payload, answer.paged_key: rows}
            if link:
                headers["link"] = link
        response = self._json(request, answer.status, payload, headers)
        if answer.status == 200:
            etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
            response.headers["etag"] = etag
            response.headers["cache-control"] = "private, max-age=60, s-maxage=60"
            if answer.last_modified:
                response.headers["last-modified"] = answer.last_modified
            if self._not_modified(request, etag, answer.last_modified):
                # GitHub's rule: a 304 to a conditional request costs nothing.
                keep = {k: v for k, v in response.headers.items()
                        if k not in ("content-length", "content-type")}
                return Response(status_code=304,
                                headers={**keep, **self._rate_headers(remaining, reset)})
        if path.rstrip("/") != "/rate_limit":  # reading the budget is free on GitHub too
            _, remaining, reset = self.budget.take(token)
        response.headers.update(self._rate_headers(remaining, reset))
        return response

    @staticmethod
    def _not_modified(request: Request, etag: str, last_modified: str | None) -> bool:
        wanted = request.headers.get("if-none-match")
        if wanted is not None:
            tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
            return etag in tags or "*" in tags
        since = request.headers.get("if-modified-since")
        if since and last_modified:
            try:
                return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def _route(self, request: Request, path: str) -> Answer:
        moved = re.match(r"^/repositories/(?P<id>\d+)(?P<rest>/.*)?$", path)
        try:
            if moved:
                # GitHub's id-based paths (used in Link headers and 301s) name the same repo.
                rest = moved["rest"] or ""
                path = f"/repos/{self.store.repo_name(int(moved['id']))}{rest}"
            for method, pattern, handler in ROUTES:
                match = pattern.match(path)
                if match and method == request.method:
                    return handler(self, request, match.groupdict())
            raise NotFoundError(path)
        except MovedError as where:
            location = (f"{_origin(request)}{API_PATH}/repositories/{where.repo_id}"
                        f"/issues/{where.number}")
            return Answer(301, error_body("Moved Permanently", 301, url=location),
                          {"location": location})
        except GoneError:
            return Answer(410, error_body("This issue was deleted", 410))
        except NotFoundError:
            return Answer(404, error_body("Not Found", 404))
        except ValueError as problem:
            field = getattr(problem, "field", None)
            resource = getattr(problem, "resource", "Issue")
            return Answer(422, error_body("Validation Failed", 422, errors=[
                {"resource": resource, "code": "invalid", "field": field,
                 "message": str(problem)}]))

    def _paginate(self, request: Request, path: str, rows: Sequence[Any]
                  ) -> tuple[list[Any], str]:
        per_page = min(100, max(1, _int(request.query_params.get("per_page"), 30)))
        page = max(1, _int(request.query_params.get("page"), 1))
        last = max(1, -(-len(rows) // per_page))
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

        def url(n: int) -> str:
            query = urlencode([*params, ("page", str(n))])
            return f'<{_origin(request)}{API_PATH}{path}?{query}>'

        # The order GitHub uses: prev, next, last, first (octokit-fixtures).
        rels = []
        if page > 1:
            rels.append(f'{url(min(page - 1, last))}; rel="prev"')
        if page < last:
            rels += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
        if page > 1:
            rels.append(f'{url(1)}; rel="first"')
        return list(rows[(page - 1) * per_page: page * per_page]), ", ".join(rels)

    # ------------------------------------------------------------ helpers for handlers


def create_app(store: GitHubStore, faults: FaultPlan | None = None, *,
               limit_status: int = 403) -> ASGIApp:
    """The stand-in wrapped in the shared fault middleware.

    A budget in `faults.budget` is enforced by the app itself, per token (the middleware
    spends before the app runs and so could not let a 304 go free); without one the app
    keeps GitHub's 5,000 requests an hour on the store's clock. `limit_status` chooses
    403 or 429 for primary and secondary limits.
    """
    plan = faults or FaultPlan()
    budget = plan.budget or RateBudget(5000, clock=lambda: store.clock().timestamp())
    api = GitHubAPI(store, budget, limit_status=limit_status)
    # Same counters and lock (a shallow copy), only without the budget.
    middleware_plan = dataclasses.replace(plan, budget=None)
    return FaultMiddleware(api, middleware_plan, render=api.render_fault, credential_of=token_of)
