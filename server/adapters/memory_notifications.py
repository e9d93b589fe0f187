"""The in-memory twins of the reply mails' ports (workers/notifications/ports.py): who was
mailed about what, and each address's double opt-in, on the shared `Tables`."""

from __future__ import annotations

import msgspec

from server.adapters.memory_tables import Tables
from workers.notifications.ports import AddressState


class MemorySubscriptions:
    """`Subscriptions`: reply mails sent, and the comments whose author turned them off."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        key = (reply_id, recipient)
        if key in self._tables.notified:
            return False
        self._tables.notified.add(key)
        return True

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        return (reply_id, recipient) in self._tables.notified

    async def unsubscribe(self, comment_id: str) -> bool:
        tables = self._tables
        where = tables.comment_thread.get(comment_id)
        if where is None:
            return False
        # Under the thread's lock, so an edit staged meanwhile cannot write notify back.
        async with tables.lock(where):
            record = tables.comments.get(where, {}).get(comment_id)
            if record is None:
                return False
            tables.comments[where][comment_id] = msgspec.structs.replace(record, notify=False)
            return True


class MemoryAddresses:
    """`Addresses`: each address's confirmation mail and confirmation, by keyed hash."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, key: str) -> AddressState | None:
        return self._tables.addresses.get(key)

    async def confirmations_sent(self, site: str, since: float) -> int:
        tables = self._tables
        return sum(
            1
            for key, state in tables.addresses.items()
            if tables.address_sites.get(key) == site
            and state.requested_at is not None
            and state.requested_at >= since
        )

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        state = self._tables.addresses.get(key) or AddressState(key=key)
        self._tables.addresses[key] = msgspec.structs.replace(state, requested_at=at)
        self._tables.address_sites[key] = site

    async def confirm(self, key: str, at: float) -> bool:
        state = self._tables.addresses.get(key) or AddressState(key=key)
        if state.confirmed_at is not None:
            return False
        self._tables.addresses[key] = msgspec.structs.replace(state, confirmed_at=at)
        return True

    async def forget(self, key: str) -> bool:
        self._tables.address_sites.pop(key, None)
        return self._tables.addresses.pop(key, None) is not None
