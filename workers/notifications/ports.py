"""The reply mails' storage ports: who was mailed about what, and each address's consent."""

from __future__ import annotations

from typing import Protocol

import msgspec


class AddressState(msgspec.Struct, frozen=True, kw_only=True):
    """A reply-mail address's double opt-in, keyed by the address's keyed hash (never the
    address itself): when its last confirmation mail went out, and when it was confirmed."""

    key: str
    requested_at: float | None = None
    confirmed_at: float | None = None


class Subscriptions(Protocol):
    """Reply mails sent and refused. A reply is mailed to each recipient at most once, across
    restarts and worker copies: `mark_notified` answers True to one caller only."""

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        """Record that `recipient` was mailed about reply `reply_id`; False if it already was."""
        ...

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        """Whether `mark_notified(reply_id, recipient)` has been recorded."""
        ...

    async def unsubscribe(self, comment_id: str) -> bool:
        """Stop reply mails for a comment (notify off); False if there is no such comment."""
        ...


class Addresses(Protocol):
    """Reply-mail addresses' double opt-in, by keyed hash."""

    async def get(self, key: str) -> AddressState | None:
        """What is known of an address; None if never asked."""
        ...

    async def confirmations_sent(self, site: str, since: float) -> int:
        """How many addresses were sent a confirmation mail for `site` at `since` or later."""
        ...

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        """Record that the address `key` was sent a confirmation mail for `site` at `at`."""
        ...

    async def confirm(self, key: str, at: float) -> bool:
        """Mark the address confirmed at `at` (kept if it already was); False if it already
        was confirmed."""
        ...

    async def forget(self, key: str) -> bool:
        """Forget all that is known of the address (its owner asked to be erased): it is asked
        again before any mail. False if nothing was known."""
        ...
