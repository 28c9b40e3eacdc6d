"""A child process that loads the API with concurrent clients and reports latencies."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time

import httpx


def _hammer(url: str, token: str, until: float, latencies: list[float], errors: list[int]) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while time.perf_counter() < until:  # bounded by time: the load stops by itself
            started = time.perf_counter()
            response = client.get(url)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(response.status_code)


def measure(url: str, token: str, seconds: float, clients: int) -> dict[str, float]:
    """p50/p99 latency (ms) and requests per second of `clients` looping for `seconds`."""
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=_hammer, args=(url, token, until, latencies, errors))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return {
        "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
        "p99_ms": p99 * 1000,
        "rps": len(ordered) / seconds,
        "requests": len(ordered),
        "errors": len(errors),
    }


def main() -> None:
    """`python -m bench.load BASE TOKEN SECONDS CLIENTS name=path[@clients] ...` -> JSON."""
    base, token, seconds, clients = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    results = {}
    for spec in sys.argv[5:]:
        # name=path, or name=path@N to use N clients for that endpoint
        name, _, target = spec.partition("=")
        path, _, alone = target.partition("@")
        httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        results[name] = measure(base + path, token, seconds, int(alone or clients))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
