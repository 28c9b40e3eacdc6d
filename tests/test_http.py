"""The shared HTTP client: retries that honour the server, budgets, conditional requests.

Fakes are plugged in through httpx's transport; nothing is monkeypatched.
"""

from __future__ import annotations

import httpx
import pytest

from connectors.errors import AuthError, FatalError, RetriableError
from connectors.http import HttpClient, RequestBudget, retry_after_seconds


def _client(handler: object, **kwargs: object) -> HttpClient:
    """A client on a fake transport that records its back-offs instead of sleeping."""
    return HttpClient(
        source="test",
        base_url="https://api.example",
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        sleep=lambda seconds: None,
        **kwargs,
    )  # type: ignore[arg-type]


def test_retry_after_is_honoured() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    client = _client(lambda request: next(answers))
    assert client.get_json("/x") == {"ok": True}
    assert client.waits == [7.0, 2.0]
    assert client.requests == 3


def test_rate_limit_reset_header_is_honoured() -> None:
    response = httpx.Response(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}
    )
    assert retry_after_seconds(response, now=990.0) == 10.0


def test_atlassian_iso_rate_limit_reset_is_honoured() -> None:
    response = httpx.Response(429, headers={"X-RateLimit-Reset": "2015-10-21T07:28:00Z"})
    assert retry_after_seconds(response, now=1445412470.0) == 10.0


def test_http_date_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_seconds(response, now=1445412470.0) == 10.0


def test_dropped_connections_are_retried() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(200, json=[])

    client = _client(handler)
    assert client.get_json("/x") == []
    assert len(client.waits) == 2 and all(0 < w <= 30 for w in client.waits)


def test_authentication_failure_is_not_retried() -> None:
    client = _client(lambda request: httpx.Response(401))
    with pytest.raises(AuthError, match="refused the credentials"):
        client.get_json("/x")
    assert client.waits == [] and client.requests == 1


def test_a_bad_request_is_fatal() -> None:
    with pytest.raises(FatalError, match="HTTP 400"):
        _client(lambda request: httpx.Response(400, text="no")).get_json("/x")


def test_retries_give_up_with_the_last_error() -> None:
    client = _client(lambda request: httpx.Response(502))
    with pytest.raises(RetriableError, match="HTTP 502"):
        client.get_json("/x")
    assert client.requests == 6 and len(client.waits) == 5


def test_conditional_get_sends_validators_and_reports_304() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(
            200,
            headers={"ETag": '"v1"', "Last-Modified": "Wed, 02 Dec 2026 10:00:00 GMT"},
            text="BEGIN:VCALENDAR",
        )

    client = _client(handler)
    first = client.get_conditional("/feed.ics")
    assert not first.not_modified
    assert first.validators == {"etag": '"v1"', "last_modified": "Wed, 02 Dec 2026 10:00:00 GMT"}
    second = client.get_conditional("/feed.ics", first.validators)
    assert second.not_modified and second.validators == first.validators
    assert seen[1]["if-none-match"] == '"v1"'
    assert seen[1]["if-modified-since"] == "Wed, 02 Dec 2026 10:00:00 GMT"


def test_an_exhausted_budget_waits_for_its_reset() -> None:
    clock = {"t": 0.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["t"] += seconds

    budget = RequestBudget(limit=2, window_seconds=60, clock=lambda: clock["t"], sleep=sleep)
    client = _client(lambda request: httpx.Response(200, json={}), budget=budget)
    for _ in range(5):
        client.get_json("/x")
    assert slept == [60.0, 60.0]
    assert budget.used == 5


def test_a_budget_shared_by_two_clients_is_spent_once() -> None:
    budget = RequestBudget(limit=3, window_seconds=60, clock=lambda: 0.0, sleep=lambda s: None)
    a = _client(lambda request: httpx.Response(200, json={}), budget=budget)
    b = _client(lambda request: httpx.Response(200, json={}), budget=budget)
    a.get_json("/x")
    b.get_json("/y")
    assert budget.remaining == 1


def test_the_servers_own_budget_is_adopted() -> None:
    budget = RequestBudget()
    client = _client(
        lambda request: httpx.Response(
            200, json={}, headers={"x-ratelimit-remaining": "41", "x-ratelimit-reset": "99"}
        ),
        budget=budget,
    )
    client.get_json("/x")
    assert (budget.remaining, budget.reset_at) == (41, 99.0)


def test_an_answer_counted_before_later_requests_does_not_raise_the_budget_back() -> None:
    budget = RequestBudget(clock=lambda: 0.0)
    counted = {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "99"}
    budget.observe(httpx.Response(200, headers=counted))  # 3 left
    budget.acquire()
    budget.acquire()  # two requests in flight from two threads
    # The first answer was counted by the server before the second request reached it.
    budget.observe(httpx.Response(200, headers={**counted, "x-ratelimit-remaining": "2"}))
    assert budget.remaining == 1
    # A new window is the server's to tell.
    budget.observe(httpx.Response(200, headers={"x-ratelimit-remaining": "50",
                                                "x-ratelimit-reset": "3699"}))
    assert (budget.remaining, budget.reset_at) == (50, 3699.0)


def test_requests_still_in_flight_are_taken_off_what_the_server_tells() -> None:
    budget = RequestBudget(clock=lambda: 0.0)
    told = {"x-ratelimit-limit": "8", "x-ratelimit-remaining": "7", "x-ratelimit-reset": "99"}
    with budget.spend(), budget.spend(), budget.spend():  # three threads, nothing known yet
        # The first answer: the server counted one request; two more may be on the way.
        budget.observe(httpx.Response(200, headers=told))
        assert budget.remaining == 5
    assert budget.in_flight == 0


def test_a_new_window_starts_as_large_as_the_server_said() -> None:
    clock = {"t": 0.0}

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    budget = RequestBudget(clock=lambda: clock["t"], sleep=sleep)
    told = {"x-ratelimit-limit": "8", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"}
    with budget.spend():
        budget.observe(httpx.Response(200, headers=told))
    with budget.spend():  # waits for the reset, then counts from the server's limit
        assert (clock["t"], budget.remaining) == (60.0, 7)
