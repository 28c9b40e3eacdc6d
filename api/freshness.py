"""What every view states as `as_of`: each stream's last success, lag and quarantine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.schemas import Freshness
from model.queries.sources import as_of

__all__ = ["freshness"]


def freshness(session: Session, now: datetime) -> list[Freshness]:
    """`as_of` for a response: each source's last success and lag.

    A view reads it before its data: each statement of the API reads its own snapshot
    (`workhub.serving.api_sessions`), so read first it never states data fresher than
    the view shows.
    """
    return [Freshness(source=f.source, stream=f.stream, last_success=f.last_success,
                      lag_seconds=f.lag_seconds, quarantined=f.quarantined)
            for f in as_of(session, now)]
