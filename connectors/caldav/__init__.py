"""CalDAV calendars through the `caldav` library (any RFC 4791 server)."""

from connectors.caldav.source import CalDAVSource, EventsStream

__all__ = ["CalDAVSource", "EventsStream"]
