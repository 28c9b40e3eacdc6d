"""API tokens: who is calling, in which role. Only a hash of each token is stored."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum as SAEnum
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow

__all__ = ["ApiToken", "TokenRole"]


class TokenRole(enum.StrEnum):
    """What a token may see: its person's work, their reports' load, or everything."""

    member = "member"
    manager = "manager"
    admin = "admin"


class ApiToken(Base):
    """A bearer token for the read API, stored as its SHA-256."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, enough to tell tokens apart in `workhub token list`.
    prefix: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[TokenRole] = mapped_column(
        SAEnum(TokenRole, native_enum=False, length=16, validate_strings=True)
    )
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
