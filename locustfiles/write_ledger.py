"""Locustfile `write_ledger`: back-to-back item writes whose acknowledged ids go to the ledger."""

from alertdrill.locustfiles.users import WriteLedgerUser

__all__ = ["WriteLedgerUser"]
