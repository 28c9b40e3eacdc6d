"""The Jira stand-in's HTTP face: what `jira.JIRA` (and a plain HTTP client) calls.

`create_app(store, faults)` serves REST v2 (and v3) for a Server or Cloud site:
serverInfo, field, myself, user, user search, (Cloud) bulk user email, project, issue
(with `fields` / `expand`), its worklog and changelog, and search — Server's `/search`
(startAt / total) or Cloud's `/search/jql` (nextPageToken / isLast); each deployment
answers the other's endpoint the way the real one does (Cloud: 410 Gone, Server: 404).
Errors have Jira's `{"errorMessages": [...], "errors": {}}` body. Mutations live under
`/_sandbox/jira/`.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.faults import Fault, FaultMiddleware, FaultPlan
from sandbox.jira.catalog import PRIORITIES, field_catalogue, format_time, priority_json
from sandbox.jira.jql import JqlError, run
from sandbox.jira.store import JiraStore
from sandbox.jira.views import children_of, issue_view, parse_list
from sandbox.jsonbody import json_bytes

__all__ = ["create_app", "jira_error"]

_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
# Largest page each deployment hands out whatever maxResults asks for.
_PAGE_CAP = {"Server": 1000, "Cloud": 100}


def jira_error(status: int, *messages: str, headers: dict[str, str] | None = None,
               errors: dict[str, str] | None = None) -> Response:
    """A Jira ErrorCollection response."""
    body = json_bytes({"errorMessages": list(messages), "errors": errors or {}})
    return Response(body, status_code=status, headers=headers,
                    media_type="application/json;charset=UTF-8")


def create_app(store: JiraStore, faults: FaultPlan | None = None, *,
               page_cap: int | None = None) -> ASGIApp:
    """The ASGI app for `store`, wrapped in the fault model; `page_cap` overrides the
    largest page size (Server 1000, Cloud 100)."""
    cap = page_cap or _PAGE_CAP[store.deployment]

    def send(request: Request, payload: Any, status: int = 200) -> Response:
        """JSON with `self` links pointing at wherever we are being served."""
        here = f"{request.url.scheme}://{request.url.netloc}"
        body = json_bytes(payload).replace(store.base_url.encode(), here.encode())
        if request.path_params.get("version") == 3:
            body = body.replace(f"{here}/rest/api/2/".encode(), f"{here}/rest/api/3/".encode())
        headers = {"X-AREQUESTID": hashlib.sha1(request.url.path.encode(),
                                                usedforsecurity=False).hexdigest()[:10]}
        return Response(body, status_code=status, headers=headers,
                        media_type="application/json;charset=UTF-8")

    def caller(request: Request) -> str | None:
        """The authenticated login (Basic user name or a Bearer token), or None."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if scheme.lower() == "basic":
            try:
                user, sep, _secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user if sep and user else None
        return None

    def unauthorised() -> Response:
        return jira_error(401, "You are not authenticated. Authentication required to "
                          "perform this operation.",
                          headers={"WWW-Authenticate": 'Basic realm="protected-area"'})

    def authed(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            if caller(request) is None:
                return unauthorised()
            if request.path_params.get("version", 2) not in (2, 3):
                return jira_error(404, "null for uri: " + str(request.url))
            return await handler(request)
        return wrapped

    async def params_of(request: Request) -> dict[str, Any]:
        """Query parameters, or the JSON body of a POST search."""
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                return {}
            return body if isinstance(body, dict) else {}
        out: dict[str, Any] = dict(request.query_params)
        for multi in ("fields", "expand"):
            if multi in request.query_params:
                out[multi] = request.query_params.getlist(multi)
        return out

    # ------------------------------------------------------------ reference data

    async def server_info(request: Request) -> Response:
        cloud = store.deployment == "Cloud"
        version = [1001, 0, 0] if cloud else [9, 12, 15]
        here = f"{request.url.scheme}://{request.url.netloc}"
        return send(request, {
            "baseUrl": here, "displayUrl": here,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15",
            "versionNumbers": version, "deploymentType": store.deployment,
            "buildNumber": 100280 if cloud else 9120015,
            "buildDate": "2026-11-20T00:00:00.000+0000",
            "serverTime": format_time(store.clock()),
            "scmInfo": "1f51473f5c7b75c1a69a0090f4832cdc5053702a",
            "serverTitle": "Sandbox Jira", "serverTimeZone": "Etc/UTC",
            "defaultLocale": {"locale": "en_US"}})

    async def fields(request: Request) -> Response:
        return send(request, field_catalogue(store.deployment))

    async def priorities(request: Request) -> Response:
        return send(request, [priority_json(name, store.base_url) for name in PRIORITIES])

    async def projects(request: Request) -> Response:
        return send(request, [store.project_ref(k) for k in store.projects])

    async def project(request: Request) -> Response:
        key = request.path_params["key"].upper()
        match = [p for p in store.projects.values() if key in (p["key"], p["id"])]
        if not match:
            return jira_error(404, f"No project could be found with key '{key}'.")
        return send(request, store.project_ref(match[0]["key"]))

    # ------------------------------------------------------------ users

    def me(request: Request) -> dict[str, Any]:
        login = caller(request) or ""
        record = store.find_user(login)
        if record is not None:
            return store.user_json(record["accountId"])
        # An API user that is not part of the organisation (e.g. a sync bot).
        account = hashlib.sha256(login.encode()).hexdigest()[:24]
        out = {"self": f"{store.base_url}/rest/api/2/user?accountId={account}",
               "accountId": account, "displayName": login, "active": True,
               "timeZone": "Etc/UTC", "accountType": "atlassian",
               "avatarUrls": store.avatars(login)}
        if store.deployment == "Server":
            out = {**out, "name": login, "key": login,
                   "self": f"{store.base_url}/rest/api/2/user?username={login}"}
            del out["accountId"], out["accountType"]
        if "@" in login:
            out["emailAddress"] = login
        return out

    async def myself(request: Request) -> Response:
        user = me(request)
        user.update({"locale": "en_US", "groups": {"size": 1, "items": []},
                     "applicationRoles": {"size": 1, "items": []},
                     "expand": "groups,applicationRoles"})
        return send(request, user)

    async def user(request: Request) -> Response:
        query = request.query_params
        if store.deployment == "Cloud":
            if "accountId" not in query:
                return jira_error(400, "The query parameter 'accountId' is required; "
                                  "'username' and 'key' are not supported in GDPR mode.")
            record = store.users.get(query["accountId"])
            wanted = query["accountId"]
        else:
            wanted = query.get("username") or query.get("key") or ""
            record = store.find_user(wanted) if wanted else None
        if record is None:
            return jira_error(404, f"User '{wanted}' does not exist.")
        return send(request, store.user_json(record["accountId"]))

    async def user_search(request: Request) -> Response:
        query = request.query_params
        needle = (query.get("query") or query.get("username") or "").lower()
        if not needle:
            return jira_error(400, "The query parameter 'query' or 'username' is required.")
        start = int(query.get("startAt", 0))
        size = min(int(query.get("maxResults", 50)), 1000)
        hits = [r for r in store.users.values() if any(
            needle in text.lower() for text in (r["displayName"], r["emailAddress"],
                                                r["name"] if store.deployment == "Server"
                                                else ""))]
        return send(request, [store.user_json(r["accountId"])
                              for r in hits[start:start + size]])

    async def user_emails(request: Request) -> Response:
        # Cloud's "Get user email bulk" (apps granted the email permission; the stand-in
        # plays such an app and sees every address). Server has no such endpoint.
        if store.deployment != "Cloud":
            return jira_error(404, "null for uri: " + str(request.url))
        wanted = request.query_params.getlist("accountId")
        if not wanted:
            return jira_error(400, "The query parameter 'accountId' is required.")
        if len(wanted) > 100:
            return jira_error(400, "At most 100 accountIds may be asked for at once.")
        return send(request, [{"accountId": a, "email": store.users[a]["emailAddress"]}
                              for a in dict.fromkeys(wanted) if a in store.users])

    # ------------------------------------------------------------ issues

    async def issue(request: Request) -> Response:
        params = await params_of(request)
        try:
            stored = store.get(request.path_params["key"])
        except KeyError:
            return jira_error(404, _NOT_FOUND)
        with store.lock:
            view = issue_view(store, stored, fields=parse_list([params.get("fields")])
                              or ["*all"], expand=parse_list([params.get("expand")]),
                              api_version=str(request.path_params["version"]))
        return send(request, view)

    async def worklogs(request: Request) -> Response:
        try:
            stored = store.get(request.path_params["key"])
        except KeyError:
            return jira_error(404, _NOT_FOUND)
        logs = stored["fields"]["worklog"]["worklogs"]
        return send(request, {"startAt": 0, "maxResults": len(logs), "total": len(logs),
                              "worklogs": logs})

    async def changelog(request: Request) -> Response:
        try:
            stored = store.get(request.path_params["key"])
        except KeyError:
            return jira_error(404, _NOT_FOUND)
        start = int(request.query_params.get("startAt", 0))
        size = min(int(request.query_params.get("maxResults", 100)), 100)
        histories = store.changelogs.get(stored["id"], [])
        page = histories[start:start + size]
        return send(request, {"self": str(request.url), "maxResults": size, "startAt": start,
                              "total": len(histories),
                              "isLast": start + size >= len(histories), "values": page})

    async def search(request: Request) -> Response:
        legacy = request.url.path.rstrip("/").endswith("/search")
        if legacy and store.deployment == "Cloud":
            return jira_error(410, "The requested API has been removed. Please migrate to "
                              "the /rest/api/3/search/jql API. A full migration guideline "
                              "is available at https://developer.atlassian.com/changelog/"
                              "#CHANGE-2046")
        if not legacy and store.deployment == "Server":
            return jira_error(404, "null for uri: " + str(request.url))
        params = await params_of(request)
        try:
            size = int(params.get("maxResults", 50))
            start = int(params.get("startAt", 0))
        except (TypeError, ValueError):
            return jira_error(400, "maxResults and startAt must be integers.")
        if size < 0 or start < 0:
            return jira_error(400, "maxResults and startAt must not be negative.")
        size = min(size, cap)
        jql = str(params.get("jql") or "")
        digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
        token = params.get("nextPageToken")
        if not legacy:
            start = 0
            if token:
                try:
                    offset, _, salt = base64.urlsafe_b64decode(str(token)).decode().partition(
                        ":")
                    start = int(offset)
                except (ValueError, UnicodeDecodeError):
                    salt = ""
                if salt != digest:
                    return jira_error(400, "The provided next page token is invalid or "
                                      "expired.")
        login = caller(request)
        record = store.find_user(login) if login else None
        try:
            found = run(store, jql, user=record["accountId"] if record else login)
        except JqlError as exc:
            return jira_error(400, str(exc))
        default = ["*navigable"] if legacy else ["id"]
        wanted = parse_list([params.get("fields")]) or default
        expand = parse_list([params.get("expand")])
        version = str(request.path_params["version"])
        with store.lock:
            kids = children_of(store)
            page = found[start:start + size]
            if wanted == ["id"]:
                # /search/jql's default: ids only.
                issues = [{"id": i["id"]} for i in page]
            else:
                issues = [issue_view(store, i, fields=wanted, expand=expand,
                                     api_version=version, children=kids) for i in page]
        if legacy:
            return send(request, {"expand": "schema,names", "startAt": start,
                                  "maxResults": size, "total": len(found), "issues": issues})
        payload: dict[str, Any] = {"issues": issues}
        if start + size < len(found):
            payload["nextPageToken"] = base64.urlsafe_b64encode(
                f"{start + size}:{digest}".encode()).decode()
        payload["isLast"] = start + size >= len(found)
        return send(request, payload)

    async def approximate_count(request: Request) -> Response:
        params = await params_of(request)
        try:
            found = run(store, str(params.get("jql") or ""))
        except JqlError as exc:
            return jira_error(400, str(exc))
        return send(request, {"count": len(found)})

    async def session(request: Request) -> Response:
        if caller(request) is None:
            return unauthorised()
        login = caller(request)
        return send(request, {"self": f"{store.base_url}/rest/api/latest/user?username="
                              f"{login}", "name": login,
                              "loginInfo": {"failedLoginCount": 0, "loginCount": 1}})

    # ------------------------------------------------------------ /_sandbox mutations

    async def mutate(request: Request) -> Response:
        action = request.path_params.get("action", "create")
        key = request.path_params.get("key")
        try:
            body = await request.json() if request.method == "POST" else {}
        except ValueError:
            return jira_error(400, "The request body is not valid JSON.")
        body = {k: (datetime.fromisoformat(v) if k in ("at", "started") and v else v)
                for k, v in dict(body or {}).items()}
        try:
            if request.method == "DELETE":
                store.delete(key or "")
                return Response(status_code=204)
            if action == "users":
                return send(request, store.add_user(**body))
            if action == "projects":
                return send(request, store.add_project(**body))
            result: Any
            if action == "create":
                result = store.create_issue(**body)
            elif action == "edit":
                result = store.edit(key or "", body.pop("fields"), **body)
            elif action in ("reassign", "transition", "close", "move", "link"):
                result = getattr(store, action)(key or "", **body)
            elif action == "worklog":
                return send(request, store.add_worklog(key or "", **body))
            else:
                return jira_error(404, f"Unknown sandbox action '{action}'.")
            if result is None:
                return Response(status_code=204)
            with store.lock:
                return send(request, issue_view(store, result, fields=["*all"]))
        except KeyError as exc:
            return jira_error(404, str(exc.args[0]) if exc.args else _NOT_FOUND)
        except (ValueError, TypeError) as exc:
            return jira_error(400, str(exc))

    rest = "/rest/api/{version:int}"
    routes = [
        Route(f"{rest}/serverInfo", authed(server_info)),
        Route(f"{rest}/field", authed(fields)),
        Route(f"{rest}/priority", authed(priorities)),
        Route(f"{rest}/project", authed(projects)),
        Route(f"{rest}/project/{{key}}", authed(project)),
        Route(f"{rest}/myself", authed(myself)),
        Route(f"{rest}/user", authed(user)),
        Route(f"{rest}/user/search", authed(user_search)),
        Route(f"{rest}/user/email/bulk", authed(user_emails)),
        Route(f"{rest}/issue/{{key}}", authed(issue)),
        Route(f"{rest}/issue/{{key}}/worklog", authed(worklogs)),
        Route(f"{rest}/issue/{{key}}/changelog", authed(changelog)),
        Route(f"{rest}/search", authed(search), methods=["GET", "POST"]),
        Route(f"{rest}/search/jql", authed(search), methods=["GET", "POST"]),
        Route(f"{rest}/search/approximate-count", authed(approximate_count),
              methods=["POST"]),
        Route("/rest/auth/1/session", session),
        Route("/_sandbox/jira/issues", mutate, methods=["POST"]),
        Route("/_sandbox/jira/issues/{key}", mutate, methods=["DELETE"]),
        Route("/_sandbox/jira/issues/{key}/{action}", mutate, methods=["POST"]),
        Route("/_sandbox/jira/{action:str}", mutate, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    return FaultMiddleware(app, faults, render=_renderer(store))


def _renderer(store: JiraStore) -> Any:
    """Faults shaped like Jira Cloud's: 429 burst limits with Retry-After and the
    X-RateLimit-* / RateLimit-Reason headers, 503 with Retry-After (which is also what
    makes `jira.JIRA`'s session retry a 503)."""

    def render(kind: str, request: Request, info: dict[str, Any]) -> Response:
        retry = max(1, int(info.get("retry_after", 1)))
        reset = store.clock() + timedelta(seconds=retry)
        reset_text = reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z"
        if kind == Fault.server_error:
            return jira_error(503, "Service Unavailable: the server is temporarily unable "
                              "to handle the request.", headers={"Retry-After": str(retry)})
        headers = {"Retry-After": str(retry), "X-RateLimit-Reset": reset_text,
                   "RateLimit-Reason": "jira-burst-based"}
        if kind == Fault.budget_exhausted:
            headers.update({"RateLimit-Reason": "jira-quota-global-based",
                            "X-RateLimit-Limit": str(info.get("limit", 0)),
                            "X-RateLimit-Remaining": "0"})
        return jira_error(429, "Rate limit exceeded.", headers=headers)

    return render
