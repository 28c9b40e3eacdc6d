"""Who is looking, and what they may see. Privacy lives here, not in route handlers.

Rules (DESIGN.md, Privacy):
- a person sees everything about their own work (items they are involved in);
- an email is visible only to its parties (sender and recipients);
- others see a private meeting or absence only as busy time, without title or people;
- a manager sees the workload of the people who report to them, directly or through
  other managers, by category, and titles only of items that are not private;
- an admin sees everything, raw payloads included.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from model import ApiToken, Involvement, ItemKind, Person, TokenRole, WorkItem

__all__ = [
    "Viewer",
    "authenticate",
    "create_token",
    "hash_token",
    "reports_of",
    "revoke_token",
]

TOKEN_PREFIX = "whk_"  # noqa: S105  (a marker, not a secret)
#: last_used_at is refreshed at most this often, so reads do not turn into writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Viewer:
    """The caller: their person, their role, and everyone who reports to them."""

    person_id: int
    role: TokenRole
    reports: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """Admins see everything."""
        return self.role is TokenRole.admin

    def can_see_load_of(self, person_id: int) -> bool:
        """Workload is shown to the person, their managers (with a manager token), admins."""
        if self.is_admin or person_id == self.person_id:
            return True
        return self.role is TokenRole.manager and person_id in self.reports

    def involved(self, item: Any = WorkItem) -> ColumnElement[bool]:
        """SQL: the viewer has a part in the item (`item`: WorkItem or an alias of it)."""
        return exists().where(Involvement.item_id == item.id,
                              Involvement.person_id == self.person_id)

    def may_see_item(self, item: Any = WorkItem) -> ColumnElement[bool]:
        """SQL: the item appears at all (emails only for their parties)."""
        if self.is_admin:
            return true()
        return or_(item.kind != ItemKind.email, self.involved(item))

    def may_read_details(self, item: Any = WorkItem) -> ColumnElement[bool]:
        """SQL: title, people and URL may be shown (else the item is only busy time)."""
        if self.is_admin:
            return true()
        return or_(item.private.is_(False), self.involved(item))


def reports_of(session: Session, person_id: int) -> frozenset[int]:
    """Everyone who reports to the person, directly or through other managers."""
    children: dict[int, list[int]] = {}
    for pid, manager in session.execute(select(Person.id, Person.manager_id)):
        if manager is not None:
            children.setdefault(manager, []).append(pid)
    found: set[int] = set()
    todo = list(children.get(person_id, []))
    while todo:
        pid = todo.pop()
        if pid not in found and pid != person_id:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return frozenset(found)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, person: Person, role: TokenRole, note: str | None = None
                 ) -> tuple[ApiToken, str]:
    """A new token for the person; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_token(token), prefix=token[:12], person_id=person.id,
                   role=role, note=note)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, id_or_prefix: str, now: datetime) -> ApiToken | None:
    """Revoke a token by its id or its prefix; None if there is no such live token."""
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    query = query.where(ApiToken.id == int(id_or_prefix)) if id_or_prefix.isdigit() else \
        query.where(ApiToken.prefix == id_or_prefix)
    row = session.scalar(query)
    if row is not None:
        row.revoked_at = now
    return row


def authenticate(session: Session, token: str, now: datetime) -> Viewer | None:
    """The viewer a bearer token stands for, or None if unknown or revoked."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        row.last_used_at = now
        session.commit()
    # Only a manager's rights depend on who reports to them (an admin sees everything).
    reports = reports_of(session, row.person_id) if row.role is TokenRole.manager \
        else frozenset()
    return Viewer(person_id=row.person_id, role=row.role, reports=reports)
