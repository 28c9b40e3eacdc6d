"""ics connector."""
