"""The `jira` library under our retry policy: typed errors, a shared budget, counting.

`jira.JIRA` brings the transport, authentication (basic or bearer), the site's URL layout
and Jira's error bodies; its own retry loop only knows 429/503 and waits twice what it
is told, with jitter. We switch that loop off (`max_retries=0`) and retry every call
with `connectors.http.retrying` instead, so all failures are classified once: 429/5xx
and dropped connections are waited out as the server asks (`Retry-After`, else
`X-RateLimit-Reset`, `RateLimit-Reason` kept in the message), 401/403 are `AuthError`s
that name the config keys to fix, and anything else is a `FatalError`.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jira
import requests
from jira.exceptions import JIRAError
from jira.resilientsession import raise_on_error

from connectors.errors import AuthError, FatalError, RetriableError
from connectors.http import RequestBudget, retrying
from workhub.jsonio import loads

__all__ = ["JiraApi", "budget_for", "retry_after"]

_RETRIABLE = {408, 425, 429, 500, 502, 503, 504}
# Failures of the transport that a later attempt may not meet.
_PASSING = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError, requests.exceptions.JSONDecodeError)
_BUDGETS: dict[tuple[str, str], RequestBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(url: str, credential: str, limit: int | None = None) -> RequestBudget:
    """The one request budget of a credential on a site, shared by every source using it."""
    # Only a digest of the credential is kept as the key: secrets stay out of memory dumps.
    key = (url.rstrip("/"), hashlib.sha256(credential.encode()).hexdigest())
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None:
            budget = _BUDGETS[key] = RequestBudget(limit=limit, window_seconds=3600.0)
        return budget


def _moment(text: str) -> float | None:
    """Epoch seconds of an HTTP date or an ISO 8601 timestamp (Jira Cloud's reset header)."""
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `Retry-After` (seconds or a date), else
    `X-RateLimit-Reset` (epoch seconds, or Jira Cloud's ISO timestamp)."""
    # Dates are measured against the server's own `Date` header when it sends one, so a
    # skewed local clock neither stalls nor hurries us.
    server_now = _moment(headers.get("Date", "") or "")
    now = server_now if server_now is not None else (time.time() if now is None else now)
    value = (headers.get("Retry-After") or "").strip()
    if value:
        if value.isdigit():
            return float(value)
        when = _moment(value)
        if when is not None:
            return max(0.0, when - now)
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if reset:
        when = float(reset) if reset.isdigit() else _moment(reset)
        if when is not None:
            return max(0.0, when - now)
    return None


class JiraApi:
    """One `jira.JIRA` client of a source: GETs of raw JSON, retried, typed and counted."""

    def __init__(
        self,
        source: str,
        url: str,
        *,
        username: str | None = None,
        token: str | None = None,
        auth: str = "basic",
        requests_per_hour: int | None = None,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.source = source
        self.url = url.rstrip("/")
        self.requests = 0
        self.waits: list[float] = []
        self._max_wait = max_wait
        self._sleep = sleep
        options: dict[str, Any] = {}
        if auth == "bearer" and token:
            options["token_auth"] = token
        elif username:
            options["basic_auth"] = (username, token or "")
        # No request here: the deployment is read through our retries (`get("serverInfo")`).
        self.client = jira.JIRA(server=self.url, get_server_info=False, max_retries=0,
                                timeout=timeout, **options)
        self.budget = budget_for(self.url, f"{auth}:{username}:{token}", requests_per_hour)
        self._retrying = retrying(sleep=self._wait)

    def get(self, path: str, params: dict[str, Any] | None = None, *,
            api_version: int = 2, absent: tuple[int, ...] = ()) -> Any:
        """GET `/rest/api/<api_version>/<path>` as JSON, retrying passing failures; a
        status in `absent` (an endpoint this site or account lacks) answers None."""
        return self._retrying(self._attempt, path, params, api_version, absent)

    def _attempt(self, path: str, params: dict[str, Any] | None, api_version: int = 2,
                 absent: tuple[int, ...] = ()) -> Any:
        self.requests += 1
        with self.budget.spend():
            return self._exchange(path, params, api_version, absent)

    def _exchange(self, path: str, params: dict[str, Any] | None, api_version: int,
                  absent: tuple[int, ...]) -> Any:
        try:
            # The library's session (authentication, its error for a failed status), and
            # the body decoded by orjson, not `requests`' `.json()`: a page of a hundred
            # issues is about half a megabyte, and the standard decoder was a tenth of
            # a full sync's landing CPU.
            url = self.client._get_url(path, "{server}/rest/api/" + str(api_version) + "/{path}")
            response = self.client._session.get(url, params=params)
            raise_on_error(response)
            return loads(response.content) if response.content else {}
        except JIRAError as exc:
            error = self._error(exc, path)
            # A rate-limited 403 stays retriable; only a plain refusal means "not here".
            if exc.status_code in absent and not isinstance(error, RetriableError):
                return None
            raise error from exc
        except _PASSING as exc:  # dropped connection, timeout, a body cut short
            raise RetriableError(f"{self.source}: Jira request {path} failed: {exc}") from exc
        except requests.RequestException as exc:  # a bad URL, say: retrying will not help
            raise FatalError(f"{self.source}: Jira request {path} failed: {exc}") from exc
        except ValueError as exc:  # a body cut short is not JSON
            raise RetriableError(f"{self.source}: Jira sent a broken body for {path}") from exc

    def _error(self, exc: JIRAError, path: str) -> Exception:
        status = exc.status_code
        response = exc.response
        headers: Mapping[str, str] = response.headers if response is not None else {}
        message = (exc.text or "").strip()[:200]
        limited = status == 429 or (status == 403 and (
            headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in headers))
        if status is None or status in _RETRIABLE or limited:
            reason = headers.get("RateLimit-Reason")
            return RetriableError(
                f"{self.source}: HTTP {status} from Jira for {path}"
                + (f" ({reason})" if reason else "") + (f": {message}" if message else ""),
                retry_after=retry_after(headers))
        if status in (401, 403):
            return AuthError(
                f"{self.source}: Jira at {self.url} refused the credentials (HTTP {status}); "
                f"check the source's `username` and `token` (sources[].username, "
                f"sources[].token, and `auth` for bearer tokens): {message}")
        return FatalError(f"{self.source}: HTTP {status} from Jira for {path}: {message}")

    def _wait(self, seconds: float) -> None:
        seconds = min(seconds, self._max_wait)
        self.waits.append(seconds)
        self._sleep(seconds)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()
