"""Sharing equal parts of a loaded world keeps its content and shares only list-free parts."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.compact import read_jsonl, sharing


def test_equal_list_free_parts_become_one_object(tmp_path: Path) -> None:
    rows = [{"id": n, "user": {"login": "ada", "site_admin": False},
             "labels": [{"name": "bug"}], "flags": {"n": 1}, "other": {"n": True}}
            for n in range(3)]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with sharing():
        loaded = read_jsonl(path)
    assert loaded == rows
    assert loaded[0]["user"] is loaded[1]["user"] is loaded[2]["user"]
    # Lists are never shared (stores append to them); the rows themselves neither.
    assert loaded[0]["labels"] is not loaded[1]["labels"]
    assert loaded[0] is not loaded[1]
    # 1 and true are different JSON.
    assert loaded[0]["flags"] is not loaded[0]["other"]
    assert loaded[0]["other"]["n"] is True


def test_outside_sharing_every_row_is_its_own(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"u": {"a": 1}}\n\n{"u": {"a": 1}}\n', encoding="utf-8")
    first, second = read_jsonl(path)
    assert first == second and first["u"] is not second["u"]
