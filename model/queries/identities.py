"""Identities that need a human: unresolved ones, and display-name suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from model import Identity, Involvement, Person

__all__ = ["IdentityRow", "IdentityStatus", "find_identity", "list_identities"]

IdentityStatus = Literal["resolved", "unresolved", "suggested"]


@dataclass(frozen=True)
class IdentityRow:
    """One identity with how it resolved and how much work hangs on it."""

    id: int
    namespace: str
    value: str
    display_name: str | None
    status: IdentityStatus
    person: str | None
    suggested_person: str | None
    resolution: str | None
    evidence: str | None
    involvements: int


def list_identities(session: Session, status: IdentityStatus | None = None
                    ) -> list[IdentityRow]:
    """Identities (of one status), those with the most work first."""
    person, suggested = aliased(Person), aliased(Person)
    counts = (select(Involvement.identity_id, func.count().label("n"))
              .group_by(Involvement.identity_id).subquery())
    query = (select(Identity, person.slug, suggested.slug, func.coalesce(counts.c.n, 0))
             .outerjoin(person, person.id == Identity.person_id)
             .outerjoin(suggested, suggested.id == Identity.suggested_person_id)
             .outerjoin(counts, counts.c.identity_id == Identity.id))
    if status == "resolved":
        query = query.where(Identity.person_id.is_not(None))
    elif status == "suggested":
        query = query.where(Identity.person_id.is_(None),
                            Identity.suggested_person_id.is_not(None))
    elif status == "unresolved":
        query = query.where(Identity.person_id.is_(None),
                            Identity.suggested_person_id.is_(None))
    rows = session.execute(query.order_by(func.coalesce(counts.c.n, 0).desc(),
                                          Identity.namespace, Identity.value)).all()
    return [IdentityRow(
        id=ident.id, namespace=ident.namespace, value=ident.value,
        display_name=ident.display_name,
        status="resolved" if ident.person_id else
        ("suggested" if ident.suggested_person_id else "unresolved"),
        person=slug, suggested_person=suggestion, resolution=ident.resolution,
        evidence=ident.evidence, involvements=int(n)) for ident, slug, suggestion, n in rows]


def find_identity(session: Session, ref: str) -> Identity | None:
    """An identity by id or by "namespace:value"."""
    if ref.isdigit():
        return session.get(Identity, int(ref))
    namespace, _, value = ref.partition(":")
    if not value:
        return None
    value = value.lower() if namespace == "email" else value
    return session.scalar(select(Identity).where(Identity.namespace == namespace,
                                                 Identity.value == value))
