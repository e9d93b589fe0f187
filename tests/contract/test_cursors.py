"""The Cursors contract: each log reader's position, committed only under its lease."""

from __future__ import annotations

from server.storage import Storage


async def test_a_reader_cursor_starts_at_zero_and_advances_under_its_lease(
    storage: Storage,
) -> None:
    """A log reader's position is committed only by the holder of its lease."""
    cursors = storage.cursors
    assert await cursors.position("mailer") == 0
    assert await cursors.lease("mailer", "copy-1", until=100.0, now=0.0)
    assert await cursors.advance("mailer", "copy-1", 7)
    assert await cursors.position("mailer") == 7
    assert not await cursors.advance("mailer", "copy-2", 9)
    assert await cursors.position("mailer") == 7
    assert await cursors.position("other") == 0


async def test_a_lease_excludes_other_copies_until_it_expires(storage: Storage) -> None:
    """A second copy is refused while the lease runs, and takes over once it has expired."""
    cursors = storage.cursors
    assert await cursors.lease("mailer", "copy-1", until=100.0, now=0.0)
    assert await cursors.lease("mailer", "copy-1", until=200.0, now=50.0)  # renewal
    assert not await cursors.lease("mailer", "copy-2", until=300.0, now=150.0)
    assert await cursors.lease("mailer", "copy-2", until=400.0, now=250.0)  # expired: taken over
    assert not await cursors.advance("mailer", "copy-1", 3)
    assert await cursors.advance("mailer", "copy-2", 3)
    assert await cursors.position("mailer") == 3
