"""Serving the read API: in this process, or in one worker process per core.

A worker process builds its own app from the same config (uvicorn starts workers from an
import string, not from an app object), so each has its own engine and connection pool.
Several processes, not threads, because a request's work is Python that holds the GIL:
at 100,000 items two workers on two cores served 2.1-2.7x the 360 views per second of
one, and the p99 fell from 82-125 ms to 53-72 ms.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from model.db import make_engine, make_sessionmaker
from workhub.config import WorkhubConfig, default_home, load_config
from workhub.logs import configure_logging, log_level

__all__ = ["api_sessions", "default_workers", "serve", "worker_app"]


def default_workers() -> int:
    """One worker process per core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def api_sessions(config: WorkhubConfig) -> sessionmaker[Session]:
    """Sessions for the read API: every statement commits on its own (autocommit).

    A request holds no transaction, so it makes two round trips fewer (no BEGIN, no
    ROLLBACK), and psycopg keeps its prepared statements, which it drops at every
    ROLLBACK: on PostgreSQL every query of a 360 view was planned afresh on every request.
    At 100,000 items under load, 360 views per second went from 197 to 270, workloads
    from 166-177 to 226-241, and the database's CPU fell by a third. Each statement
    reads its own snapshot, as it did before (PostgreSQL's default READ COMMITTED, and
    SQLite reads outside a write); a view reads its `as_of` first, so it never states
    data fresher than what it shows.
    """
    engine = make_engine(config.resolved_database_url(default_home()),
                         isolation_level="AUTOCOMMIT")
    return make_sessionmaker(engine)


def worker_app() -> FastAPI:
    """The app of a worker process: the config `serve` named in $WORKHUB_CONFIG."""
    configure_logging(log_level())
    config = load_config()
    return create_app(api_sessions(config), config)


def serve(config: WorkhubConfig, config_path: Path | None, host: str, port: int,
          workers: int) -> None:
    """Serve the API here, or (`workers` > 1) from that many processes building their own.

    The caller has upgraded the database: the API only reads it (and notes when a token
    was last used).
    """
    import uvicorn

    if workers <= 1:
        uvicorn.run(create_app(api_sessions(config), config), host=host, port=port,
                    log_level="info")
        return
    if config_path is not None:
        os.environ["WORKHUB_CONFIG"] = str(config_path)  # the workers inherit it
    uvicorn.run("workhub.serving:worker_app", factory=True, workers=workers, host=host,
                port=port, log_level="info")
