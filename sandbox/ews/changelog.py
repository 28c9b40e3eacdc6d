"""Per-folder change logs for SyncFolderItems: every create, update, delete and read-flag
change gets a sequence number; a SyncState is the base64 of (folder id, sequence number,
snapshot cursor). Only the newest `retain` entries are kept, so an old SyncState is
rejected the way Exchange rejects one it can no longer serve.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["Change", "ChangeLog", "SyncStateError"]

#: (kind, item): kind is "create", "update", "delete" or "read" (a ReadFlagChange)
Change = tuple[str, dict[str, Any]]


class SyncStateError(ValueError):
    """A SyncState that is malformed, for another folder, or older than the retained log."""


class ChangeLog:
    """The change logs of all folders of a store."""

    def __init__(self, retain: int = 5000) -> None:
        self.retain = retain
        self.entries: dict[str, list[tuple[int, str, str]]] = {}
        self.seq: dict[str, int] = {}
        self.floor: dict[str, int] = {}  # the newest seq that is no longer in the log

    def open(self, folder_id: str) -> None:
        """Start an empty log for a new folder."""
        self.entries[folder_id], self.seq[folder_id], self.floor[folder_id] = [], 0, 0

    def record(self, folder_id: str, item_id: str, kind: str) -> None:
        """Append a change, dropping the oldest entries beyond `retain`."""
        self.seq[folder_id] += 1
        log = self.entries[folder_id]
        log.append((self.seq[folder_id], item_id, kind))
        if len(log) > self.retain:
            self.floor[folder_id] = log[len(log) - self.retain - 1][0]
            del log[: len(log) - self.retain]

    @staticmethod
    def state(folder_id: str, seq: int, cursor: int | None = None) -> str:
        """The opaque SyncState: base64 of folder id, sequence number (and snapshot cursor)."""
        return base64.b64encode(json.dumps([folder_id, seq, cursor]).encode()).decode()

    def changes(self, folder_id: str, state: str | None, max_changes: int,
                items: Mapping[str, dict[str, Any]]) -> tuple[list[Change], str, bool]:
        """Changes since `state`: ([(kind, item)], new state, includes last item in range).

        Without a state the folder's current items come as creates (a snapshot, paged by
        creation order); then the log is replayed, collapsing each item's changes within
        one page into one create / update / delete / read-flag change.
        """
        max_changes = max(1, min(512, max_changes))
        if state:
            try:
                fid, seq, cursor = json.loads(base64.b64decode(state, validate=True))
            except ValueError as exc:
                raise SyncStateError("malformed SyncState") from exc
            if fid != folder_id:
                raise SyncStateError("SyncState belongs to another folder")
            if seq < self.floor[folder_id]:
                raise SyncStateError("SyncState is older than the retained change log")
        else:
            seq, cursor = self.seq[folder_id], 0
        if cursor is not None:
            return self._snapshot(folder_id, seq, cursor, max_changes, items)
        return self._replay(folder_id, seq, max_changes, items)

    def _created_at(self, folder_id: str) -> dict[str, int]:
        return {item_id: s for s, item_id, kind in self.entries[folder_id] if kind == "create"}

    def _snapshot(self, folder_id: str, seq: int, cursor: int, max_changes: int,
                  items: Mapping[str, dict[str, Any]]) -> tuple[list[Change], str, bool]:
        created = self._created_at(folder_id)
        # Items whose creation left the log (0) belong to the first snapshot page.
        pending = sorted((created.get(i["ItemId"], 0), i["ItemId"]) for i in items.values()
                         if i["ParentFolderId"] == folder_id and (
                             cursor < created.get(i["ItemId"], 0) <= seq
                             or (cursor == 0 and i["ItemId"] not in created)))
        page = pending[:max_changes]
        changes: list[Change] = [("create", items[item_id]) for _, item_id in page]
        if len(pending) > max_changes:
            return changes, self.state(folder_id, seq, page[-1][0]), False
        if len(changes) == max_changes:
            # The page is full: the log replay starts with the next call.
            more = any(s > seq for s, _, _ in self.entries[folder_id])
            return changes, self.state(folder_id, seq), not more
        # The snapshot is done: continue from the log position it was taken at.
        following, state, last = self._replay(folder_id, seq, max_changes - len(changes), items)
        return changes + following, state, last

    def _replay(self, folder_id: str, seq: int, max_changes: int,
                items: Mapping[str, dict[str, Any]]) -> tuple[list[Change], str, bool]:
        created = self._created_at(folder_id)
        events = [e for e in self.entries[folder_id] if e[0] > seq]
        window: dict[str, list[str]] = {}
        last_seq = seq
        for event_seq, item_id, kind in events:
            if item_id not in window and len(window) >= max_changes:
                break
            window.setdefault(item_id, []).append(kind)
            last_seq = event_seq
        changes: list[Change] = []
        for item_id, kinds in window.items():
            existed = created.get(item_id, 0) <= seq
            item = items.get(item_id)
            if item is None or item["ParentFolderId"] != folder_id:
                if existed:  # created and deleted within one page: the client never knew it
                    changes.append(("delete", {"ItemId": item_id, "ChangeKey": ""}))
            elif not existed:
                changes.append(("create", item))
            elif all(k == "read" for k in kinds):
                changes.append(("read", item))
            else:
                changes.append(("update", item))
        done = last_seq == (events[-1][0] if events else seq)
        return changes, self.state(folder_id, last_seq), done

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-able row per folder, for `EwsStore.dump`."""
        return [{"folder": f, "seq": self.seq[f], "floor": self.floor[f],
                 "entries": self.entries[f]} for f in self.entries]

    def load_rows(self, rows: list[dict[str, Any]]) -> None:
        """Restore what `to_rows` produced."""
        for row in rows:
            fid = row["folder"]
            self.seq[fid], self.floor[fid] = row["seq"], row["floor"]
            self.entries[fid] = [(s, i, k) for s, i, k in row["entries"]]
