"""The memo of store rows (sites, rules): fresh for `ttl`, an absence remembered only when asked,
bounded."""

from __future__ import annotations

from server.memo import Memo


class Rows:
    """A loader that counts its reads, over rows the test changes."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.reads = 0

    async def load(self, key: str) -> str | None:
        self.reads += 1
        return self.rows.get(key)


async def test_a_value_is_read_once_per_ttl_and_a_change_shows_after_it() -> None:
    """Within the ttl the memo answers; after it, the store's new value is read."""
    now = [0.0]
    rows = Rows()
    rows.rows["news"] = "v1"
    memo: Memo[str, str] = Memo(rows.load, ttl=2.0, clock=lambda: now[0])
    assert await memo.get("news") == "v1"
    rows.rows["news"] = "v2"
    now[0] = 1.9
    assert await memo.get("news") == "v1"
    assert rows.reads == 1
    now[0] = 2.0
    assert await memo.get("news") == "v2"
    assert rows.reads == 2


async def test_an_absent_row_is_never_remembered() -> None:
    """An unknown key is read again each time, so a site created a moment later is found."""
    rows = Rows()
    memo: Memo[str, str] = Memo(rows.load, ttl=60.0, clock=lambda: 0.0)
    assert await memo.get("new") is None
    rows.rows["new"] = "here"
    assert await memo.get("new") == "here"
    assert rows.reads == 2


async def test_an_absence_is_remembered_for_the_ttl_when_asked() -> None:
    """With `absent_too`, a missing row is read once per ttl, and a row added shows after it."""
    now = [0.0]
    rows = Rows()
    memo: Memo[str, str] = Memo(rows.load, ttl=2.0, absent_too=True, clock=lambda: now[0])
    assert await memo.get("news") is None
    rows.rows["news"] = "v1"
    now[0] = 1.9
    assert await memo.get("news") is None
    assert rows.reads == 1
    now[0] = 2.0
    assert await memo.get("news") == "v1"
    assert rows.reads == 2


async def test_the_memo_is_bounded() -> None:
    """Past `limit` keys the memo starts afresh instead of growing."""
    rows = Rows()
    rows.rows.update({f"k{n}": str(n) for n in range(10)})
    memo: Memo[str, str] = Memo(rows.load, ttl=60.0, limit=4, clock=lambda: 0.0)
    for n in range(10):
        assert await memo.get(f"k{n}") == str(n)
    assert len(memo) <= 4
