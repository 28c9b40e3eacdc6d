"""A child process that syncs (or re-normalizes) once and reports what it cost.

Its peak RSS is the sync's own, which is why it runs alone in a process.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model.db import make_engine, make_sessionmaker, upgrade
from pipelines.normalize.runner import normalize
from pipelines.sync import sync_everything
from workhub.config import load_config


def peak_rss_mb() -> float:
    """The peak resident memory of this process's own address space, in MiB.

    Linux's VmHWM starts afresh at exec. `ru_maxrss` does not: it keeps the high-water
    mark of the address space the process was forked from, so a child of a parent that
    had just generated a world reported the parent's peak (seen: 963 MiB for a 226 MiB sync).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """`python -m bench.syncer CONFIG full|again|normalize` -> one JSON line on stdout."""
    config = load_config(sys.argv[1])
    mode = sys.argv[2]
    engine = make_engine(config.resolved_database_url())
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if mode == "normalize":
        stats = normalize(sessions, config, now, everything=True)
        out |= {"records": stats.records, "changed": stats.changed, "new": stats.new}
    else:
        landed, normalized = sync_everything(sessions, config, now, full=(mode == "full"))
        out |= {
            "fetched": sum(s.fetched for s in landed),
            "requests": sum(s.requests for s in landed),
            "new": sum(s.new for s in landed),
            "changed": sum(s.changed for s in landed),
            "items_new": normalized.new,
            "items_changed": normalized.changed,
            "errors": sum(1 for s in landed if s.error),
        }
        # Where a re-sync's time goes, stream by stream (the rest is normalization).
        out["streams"] = {f"{s.source}/{s.stream}": round(s.seconds, 2) for s in landed}
    out["seconds"] = time.perf_counter() - started
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
