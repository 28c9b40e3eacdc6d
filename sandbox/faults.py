"""A fault model shared by every stand-in: latency, 5xx, 429, dropped connections,
truncated bodies and a rate-limit budget, deterministic from a seed.

Whether request number *n* of a given (method, path) fails is decided by hashing
(seed, method, path, n), so the same sequence of requests meets the same faults in
every run, whatever the interleaving of other requests. Each stand-in wraps its ASGI
app in `FaultMiddleware` and supplies `render` to shape errors the way its vendor does
(GitHub's JSON message, Jira's errorMessages, an EWS SOAP fault...).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Fault",
    "FaultMiddleware",
    "FaultPlan",
    "RateBudget",
    "default_render",
]


class Fault:
    """The kinds of fault a request can meet."""

    server_error = "server_error"  # a 5xx
    rate_limited = "rate_limited"  # a 429 with Retry-After (a burst / secondary limit)
    budget_exhausted = "budget_exhausted"  # the hourly budget is spent: wait for reset
    dropped = "dropped"  # the connection closes without an answer
    truncated = "truncated"  # the body stops half-way


@dataclass
class RateBudget:
    """A budget of requests per window per credential (e.g. GitHub's 5,000/h)."""

    limit: int
    window_seconds: float = 3600.0
    clock: Callable[[], float] = time.time
    _spent: Counter[str] = field(default_factory=Counter)
    _window_start: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, credential: str, cost: int = 1) -> tuple[bool, int, float]:
        """Spend `cost`; returns (allowed, remaining, reset epoch seconds)."""
        with self._lock:
            now = self.clock()
            start = self._window_start.setdefault(credential, now)
            if now - start >= self.window_seconds:
                self._window_start[credential] = start = now
                self._spent[credential] = 0
            reset = start + self.window_seconds
            if self._spent[credential] + cost > self.limit:
                return False, 0, reset
            self._spent[credential] += cost
            return True, self.limit - self._spent[credential], reset

    def peek(self, credential: str) -> tuple[int, float]:
        """(remaining, reset) without spending."""
        with self._lock:
            start = self._window_start.get(credential, self.clock())
            return self.limit - self._spent[credential], start + self.window_seconds


@dataclass
class FaultPlan:
    """What can go wrong, and how often; all shares are between 0 and 1."""

    seed: int = 0
    latency_ms: float = 0.0
    server_errors: float = 0.0
    rate_limits: float = 0.0
    retry_after_seconds: int = 1
    dropped: float = 0.0
    truncated: float = 0.0
    budget: RateBudget | None = None
    #: paths (prefixes) that never fault, e.g. the sandbox's own mutation API
    exempt: tuple[str, ...] = ("/_sandbox",)
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _roll(self, key: tuple[str, str], n: int, salt: str) -> float:
        digest = hashlib.sha256(f"{self.seed}|{key[0]}|{key[1]}|{n}|{salt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def decide(self, method: str, target: str) -> str | None:
        """The fault (a `Fault` value) for this request, or None."""
        if any(target.startswith(p) for p in self.exempt):
            return None
        key = (method, target)
        with self._lock:
            self._seen[key] += 1
            n = self._seen[key]
        for kind, share in (
            (Fault.dropped, self.dropped),
            (Fault.server_error, self.server_errors),
            (Fault.rate_limited, self.rate_limits),
            (Fault.truncated, self.truncated),
        ):
            if share and self._roll(key, n, kind) < share:
                return kind
        return None


Renderer = Callable[[str, Request, dict[str, Any]], Response]


def default_render(kind: str, request: Request, info: dict[str, Any]) -> Response:
    """A plain JSON error for stand-ins without a vendor-specific shape."""
    if kind == Fault.server_error:
        return JSONResponse({"message": "Internal Server Error"}, status_code=500)
    headers = {"Retry-After": str(info.get("retry_after", 1))}
    return JSONResponse({"message": "rate limited"}, status_code=429, headers=headers)


class FaultMiddleware:
    """ASGI middleware applying a FaultPlan; `credential_of` names the caller for budgets."""

    def __init__(
        self,
        app: ASGIApp,
        plan: FaultPlan | None = None,
        render: Renderer = default_render,
        credential_of: Callable[[Request], str] = lambda r: r.headers.get("authorization", ""),
    ) -> None:
        self.app = app
        self.plan = plan or FaultPlan()
        self.render = render
        self.credential_of = credential_of
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plan = self.plan
        request = Request(scope)
        target = scope["path"] + ("?" + scope["query_string"].decode()
                                  if scope.get("query_string") else "")
        exempt = any(scope["path"].startswith(p) for p in plan.exempt)
        if not exempt:
            self.requests += 1
        if plan.latency_ms and not exempt:
            await asyncio.sleep(plan.latency_ms / 1000)
        kind = plan.decide(scope["method"], target)
        if kind == Fault.dropped:
            # Closing without a response: the client sees a dropped connection.
            raise ConnectionResetError("sandbox fault: connection dropped")
        if kind in (Fault.server_error, Fault.rate_limited):
            info = {"retry_after": plan.retry_after_seconds}
            await self.render(kind, request, info)(scope, receive, send)
            return
        if plan.budget is not None and not exempt:
            allowed, remaining, reset = plan.budget.take(self.credential_of(request))
            # The app reads this as `request.state.budget` to send x-ratelimit-* headers.
            scope.setdefault("state", {})["budget"] = {
                "limit": plan.budget.limit, "remaining": remaining, "reset": int(reset),
                "used": plan.budget.limit - remaining}
            if not allowed:
                info = {"retry_after": max(1, int(reset - plan.budget.clock()) + 1),
                        "remaining": 0, "reset": int(reset), "limit": plan.budget.limit}
                await self.render(Fault.budget_exhausted, request, info)(scope, receive, send)
                return
        if kind == Fault.truncated:
            await self.app(scope, receive, _truncating(send))
            return
        await self.app(scope, receive, send)


def _truncating(send: Send) -> Send:
    """Send the headers as they are, then only half of the body, then stop."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            await send({"type": "http.response.body", "body": body[: len(body) // 2],
                        "more_body": False})
            raise ConnectionResetError("sandbox fault: body truncated")
        await send(message)

    return wrapped
