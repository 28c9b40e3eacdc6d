"""People, what each tool calls them, and the teams they work in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from model.base import Base, JSONType

__all__ = ["AppliedOrg", "Identity", "Membership", "Person", "Team"]


class Person(Base):
    """A human, whatever the tools call them."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(8))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # Working days and hours as the config states them, e.g. {"days": [0..4], "start": "09:00"}.
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSONType)

    manager: Mapped[Person | None] = relationship(remote_side=[id], lazy="raise")


class Identity(Base):
    """What one tool calls a person: an email address, an account id, a login."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("namespace", "value"), Index(None, "person_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # "email" for addresses (shared by every tool), else "<kind>" such as "jira" or "github".
    namespace: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # How the person was found ("alias", "email", "evidence", "manual") and what proved it;
    # None when unresolved.
    resolution: Mapped[str | None] = mapped_column(String(32))
    evidence: Mapped[str | None] = mapped_column(String(500))
    # A unique display-name match, shown to a human but never applied until confirmed.
    suggested_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"))

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id], lazy="raise")


class Team(Base):
    """A group of people with a manager."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))


class Membership(Base):
    """A person's place in a team and the share of their time it gets."""

    __tablename__ = "membership"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    share: Mapped[float] = mapped_column(Float, default=1.0)


class AppliedOrg(Base):
    """The organisation as last applied from the config, as a digest: one row.

    Applying it re-resolves every identity, which grows with the organisation (seconds at
    5,000 people); a run whose config states the same organisation skips all of that.
    """

    __tablename__ = "applied_org"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime]
