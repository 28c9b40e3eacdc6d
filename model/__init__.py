"""The work graph: tables, sessions, migrations and the read-side queries."""

from model.access import ApiToken, TokenRole
from model.base import Base
from model.items import (
    BusyStatus,
    Involvement,
    ItemKind,
    Link,
    Occurrence,
    Response,
    Role,
    StatusCategory,
    WorkItem,
)
from model.people import AppliedOrg, Identity, Membership, Person, Team
from model.sync import LastSuccess, RawRecord, Source, SyncCursor, SyncRun

__all__ = [
    "ApiToken",
    "AppliedOrg",
    "Base",
    "BusyStatus",
    "Identity",
    "Involvement",
    "ItemKind",
    "LastSuccess",
    "Link",
    "Membership",
    "Occurrence",
    "Person",
    "RawRecord",
    "Response",
    "Role",
    "Source",
    "StatusCategory",
    "SyncCursor",
    "SyncRun",
    "Team",
    "TokenRole",
    "WorkItem",
]
