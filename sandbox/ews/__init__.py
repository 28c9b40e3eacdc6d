"""An Exchange Web Services stand-in that exchangelib cannot tell from Exchange 2016:
`EwsStore` (the world), `create_app` (the SOAP endpoint), `populate` (seed data)."""

from sandbox.ews.app import ENDPOINT, create_app
from sandbox.ews.seed import populate
from sandbox.ews.store import EwsStore, SyncStateError

__all__ = ["ENDPOINT", "EwsStore", "SyncStateError", "create_app", "populate"]
