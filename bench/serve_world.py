"""A child process that serves a generated world's stand-ins until stdin closes.

Run by the benchmark so the stand-ins do not share a core's GIL with the sync they serve.
"""

from __future__ import annotations

import gc
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
        # The loaded world lives as long as the process: keep the collector off it. A full
        # collection walks every object, and the four stand-ins are threads of this one
        # process, so each was a pause of them all: 1.5-1.7 s over the 1.6 million objects
        # of a 100,000-item world, 13.7-15.3 s over the 15.6 million of a 1,000,000-item
        # one. That was the stall where one stream of a re-sync took 10-20 s longer with
        # the same requests.
        gc.freeze()
        print(
            json.dumps(
                running.urls() | {"jira_base": running.jira, "confluence_base": running.confluence}
            ),
            flush=True,
        )
        sys.stdin.read()


if __name__ == "__main__":
    main()
