"""workhub."""
