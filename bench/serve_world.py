"""A child process that serves a generated world's stand-ins until stdin closes.

Run by the benchmark so the stand-ins do not share a core's GIL with the sync they serve.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sandbox.faults import FaultPlan, RateBudget
from sandbox.run import running_sandbox


def main() -> None:
    """Serve, print the URLs as one JSON line, wait for stdin to close."""
    world = Path(sys.argv[1])
    # No rate limit: GitHub's 5,000 requests an hour would otherwise make the later
    # phases wait for a reset and measure the wait (the budget is tested elsewhere).
    plan = FaultPlan(budget=RateBudget(limit=10**9))
    # A million-item world only fits in memory with its repeated parts shared; the
    # benchmark changes nothing but issue summaries, which are never shared.
    with running_sandbox(world, world / ".radicale", faults=plan, shared=True) as running:
        print(
            json.dumps(
                running.urls() | {"jira_base": running.jira, "confluence_base": running.confluence}
            ),
            flush=True,
        )
        sys.stdin.read()


if __name__ == "__main__":
    main()
