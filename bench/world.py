"""The benchmark's generated world: made once per size, in a process of its own."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import sandbox
from sandbox.generate import generate_world

__all__ = ["ensure_world", "generator_fingerprint"]

#: The modules whose code decides what a generated world holds.
_GENERATOR = ("generate.py", "org.py", "*/seed.py", "*/store.py", "jira/world.py")


def generator_fingerprint() -> str:
    """A digest of the generator's code: a world kept from before a change to it is
    made again rather than measured as if it were today's."""
    root = Path(sandbox.__file__).parent
    digest = hashlib.sha256()
    for path in sorted({p for pattern in _GENERATOR for p in root.glob(pattern)}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _generate(world: Path, people: int) -> dict[str, int]:
    generated = generate_world(
        world, people=people, seed=7, now=datetime.now(UTC), tools=("jira", "github", "confluence")
    )
    return dict(generated.counts)


def ensure_world(world: Path, people: int) -> None:
    """Generate the world into `world` unless a complete one of that size is there."""
    marker = world / "bench-world.json"
    wanted = {"people": people, "generator": generator_fingerprint()}
    if marker.exists() and {k: json.loads(marker.read_text()).get(k) for k in wanted} == wanted:
        print(f"reusing the world in {world}", flush=True)
        return
    shutil.rmtree(world, ignore_errors=True)
    started = time.perf_counter()
    # In a process of its own: a million-item world peaks at ~9 GB while it is written,
    # and this process lives on beside the stand-ins for the whole run.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        counts = pool.submit(_generate, world, people).result()
    print(
        f"generated {people} people in {time.perf_counter() - started:.1f} s: {counts}", flush=True
    )
    # Written last: a world cut short by an interruption is never reused.
    marker.write_text(json.dumps({**wanted, "counts": counts}))
