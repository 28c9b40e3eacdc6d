"""The HTTP client every httpx-based connector uses: retries, budgets, conditional requests.

- Retries (via `tenacity`) on 429, 5xx and dropped connections, waiting what the server
  asked for: `Retry-After` (seconds or a date), else `X-RateLimit-Reset` (epoch seconds),
  else an exponential back-off with jitter.
- One `RequestBudget` per credential, shared by every stream using it, so a source never
  spends more than its rate limit and waits for the reset instead of failing.
- `get_conditional` sends `If-None-Match` / `If-Modified-Since` from the validators of the
  last answer; a 304 costs no parse and, at GitHub, no rate limit.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from connectors.errors import AuthError, FatalError, RetriableError
from workhub.jsonio import loads

__all__ = [
    "ConditionalResult",
    "HttpClient",
    "RequestBudget",
    "ThreadCount",
    "error_for_response",
    "json_body",
    "retry_after_seconds",
    "retrying",
]

RETRIABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class ThreadCount:
    """A count kept per thread: the requests one client sent from the reading thread.

    A source's streams read through one client at the same time, each in a thread of its
    own (`pipelines.sync.land_sources`), and a stream's requests are the difference of
    two readings; one shared count would credit each stream with the others' requests.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def add(self) -> None:
        """Count one more in this thread."""
        self._local.value = self.value + 1

    @property
    def value(self) -> int:
        """This thread's count."""
        return int(getattr(self._local, "value", 0))


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from Retry-After or X-RateLimit-Reset."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
    reset = (response.headers.get("x-ratelimit-reset") or "").strip()
    if reset.isdigit():  # GitHub: epoch seconds
        return max(0.0, float(reset) - now)
    if reset:  # Atlassian: an ISO 8601 timestamp
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return None


def error_for_response(response: httpx.Response, source: str = "") -> Exception | None:
    """The typed error a failed response stands for, or None for a success."""
    status = response.status_code
    if status < 400:
        return None
    where = f"{source}: " if source else ""
    url = str(response.request.url) if response.request else ""
    rate_limited = status == 429 or (
        status == 403
        and (
            response.headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in response.headers
        )
    )
    if status in RETRIABLE_STATUS or rate_limited:
        reason = response.headers.get("ratelimit-reason", "")
        return RetriableError(
            f"{where}HTTP {status} from {url}{' (' + reason + ')' if reason else ''}",
            retry_after=retry_after_seconds(response),
        )
    if status in (401, 403):
        return AuthError(f"{where}HTTP {status}: the server refused the credentials for {url}")
    return FatalError(f"{where}HTTP {status} from {url}: {response.text[:200]}")


@dataclass
class RequestBudget:
    """Requests one credential may make per window; shared by every stream using it.

    `limit=None` only counts. When the server reports its own remaining budget (GitHub's
    x-ratelimit-* headers) `observe` adopts it, so the budget follows the real one.
    A request is spent inside `with budget.spend():`, which knows how many are in flight.
    """

    limit: int | None = None
    window_seconds: float = 3600.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    used: int = 0
    remaining: int | None = None
    reset_at: float | None = None
    told_limit: int | None = None  # the server's x-ratelimit-limit, once it said it
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def spend(self) -> Iterator[None]:
        """Take one request for the `with` block (waiting for the reset when the budget
        is spent); the request counts as in flight until the block ends."""
        self.acquire()
        with self._lock:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def acquire(self) -> None:
        """Take one request from the budget, waiting for the reset when it is spent."""
        with self._lock:
            now = self.clock()
            if self.reset_at is not None and now >= self.reset_at:
                self.remaining, self.reset_at = None, None
            if self.remaining is None and self.limit is not None:
                self.remaining, self.reset_at = self.limit, now + self.window_seconds
            if self.remaining is not None and self.remaining <= 0:
                wait = max(0.0, (self.reset_at or now) - now)
                self.sleep(wait)
                # A new window: as large as configured, else as the server last said.
                self.remaining = self.limit if self.limit is not None else self.told_limit
                self.reset_at = self.clock() + self.window_seconds if self.limit else None
            if self.remaining is not None:
                self.remaining -= 1
            self.used += 1

    def observe(self, response: httpx.Response) -> None:
        """Adopt the server's own view of the budget when it tells it (call it inside
        `spend()`, for the request the response answers)."""
        headers = response.headers
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or not remaining.isdigit():
            return
        limit = headers.get("x-ratelimit-limit")
        with self._lock:
            if limit is not None and limit.isdigit():
                self.told_limit = int(limit)
            # Threads that share the budget get their answers out of order, and requests
            # sent by the others may not have reached the server when it counted this
            # one: take them off what it tells. Within one window the count only falls,
            # so an older answer never raises ours back either.
            others = max(0, self.in_flight - 1)
            told = max(0, int(remaining) - others)
            window = float(reset) if reset and reset.isdigit() else None
            if window is not None and window == self.reset_at and self.remaining is not None:
                told = min(told, self.remaining)
            self.remaining = told
            if window is not None:
                self.reset_at = window


@dataclass(frozen=True)
class ConditionalResult:
    """The answer to a conditional GET: `response` is None when the server said 304."""

    response: httpx.Response | None
    validators: dict[str, str]

    @property
    def not_modified(self) -> bool:
        """True when the server had nothing new."""
        return self.response is None


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, RetriableError | httpx.TransportError)


_EXPONENTIAL = wait_exponential_jitter(multiplier=0.5, max=30.0, jitter=1.0)


def _wait(state: RetryCallState) -> float:
    """What the server asked for, else exponential back-off with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetriableError) and exc.retry_after is not None:
        return exc.retry_after
    return float(_EXPONENTIAL(state))


def retrying(
    *, attempts: int = 6, timeout: float = 900.0, sleep: Callable[[float], None] = time.sleep
) -> Retrying:
    """The retry policy every connector shares: RetriableError and transport errors are
    retried, waiting what the server asked for, else exponential back-off with jitter."""
    return Retrying(
        retry=retry_if_exception(_retriable),
        wait=_wait,
        sleep=sleep,
        stop=stop_after_attempt(attempts) | stop_after_delay(timeout),
        reraise=True,
    )


class HttpClient:
    """An httpx client with retries, a shared budget and request counting."""

    def __init__(
        self,
        *,
        source: str,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        budget: RequestBudget | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        attempts: int = 6,
        retry_timeout: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.budget = budget or RequestBudget()
        self._sent = ThreadCount()
        self.waits: list[float] = []
        self._sleep = sleep
        self._retrying = retrying(
            attempts=attempts, timeout=retry_timeout, sleep=self._record_sleep
        )
        self._client = httpx.Client(
            base_url=base_url,
            headers=headers,
            auth=auth,
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
        )

    @property
    def requests(self) -> int:
        """Requests sent from the calling thread (see `ThreadCount`)."""
        return self._sent.value

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying passing failures; raise a typed error on final failure."""
        return self._retrying(self._send, method, url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self.budget.spend():
            self._sent.add()
            response = self._client.request(method, url, **kwargs)
            self.budget.observe(response)
        error = error_for_response(response, self.source)
        if error is not None:
            raise error
        return response

    def _record_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._sleep(seconds)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; a body that is not JSON is a FatalError."""
        response = self.request("GET", url, **kwargs)
        try:
            return json_body(response)
        except ValueError as exc:
            raise FatalError(f"{self.source}: {url} did not answer JSON") from exc

    def get_conditional(
        self, url: str, validators: dict[str, str] | None = None, **kwargs: Any
    ) -> ConditionalResult:
        """GET with If-None-Match / If-Modified-Since from the last answer's validators."""
        headers = dict(kwargs.pop("headers", {}) or {})
        validators = validators or {}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        response = self.request("GET", url, headers=headers, **kwargs)
        if response.status_code == 304:
            return ConditionalResult(None, validators)
        fresh = {
            k: v
            for k, v in (
                ("etag", response.headers.get("etag")),
                ("last_modified", response.headers.get("last-modified")),
            )
            if v
        }
        return ConditionalResult(response, fresh)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, decoded once (orjson) and kept on the response for re-use."""
    if "workhub.json" not in response.extensions:
        response.extensions["workhub.json"] = loads(response.content)
    return response.extensions["workhub.json"]
