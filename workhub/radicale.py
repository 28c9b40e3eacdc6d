"""Start and stop a local Radicale CalDAV server (the demo's and the tests' calendars)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["free_port", "start_radicale"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_radicale(
    storage: Path, port: int | None = None, *, rights: str = "owner_only", timeout: float = 20.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start Radicale on loopback without authentication; return the process and its URL.

    The two delay flags matter: without them Radicale sleeps about a second after a
    first 401 (NOTES.md). The process gets its own session so Ctrl-C in a terminal does
    not reach it before we stop it ourselves, by pid.
    """
    port = port or free_port()
    storage.mkdir(parents=True, exist_ok=True)
    # Radicale logs every request: a pipe nobody reads would fill up and stall it.
    log = (storage.parent / f"{storage.name}.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--auth-delay",
            "0",
            "--server-delay-on-error",
            "0",
            "--rights-type",
            rights,
            "--storage-filesystem-folder",
            str(storage),
            "--logging-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url + "/.web/", timeout=1)
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"Radicale did not start on port {port}; see {log.name}"
                ) from None
            time.sleep(0.05)
