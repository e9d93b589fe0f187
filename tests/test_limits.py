"""Rate limits: token buckets that refill, stay bounded, and never hold a raw address.

`MemoryBuckets` is driven here by a clock the test moves; the contract every `Buckets` keeps
(memory, Redis, Redis Cluster, the fallback while Redis is away) is in tests/contract/.
"""

from __future__ import annotations

import pytest

from server.limits import (
    Addresses,
    Concurrency,
    Fallback,
    Limiter,
    MemoryBuckets,
    Rate,
    retry_after,
)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_refused_with_the_wait() -> None:
    """Up to `count` at once; the next is told how long until a token refills."""
    clock = Clock()
    limiter = Limiter(Rate(3, 60), clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(20.0)
    clock.now += 20
    assert limiter.take("a") == 0.0


def test_keys_are_independent() -> None:
    """One address spending its tokens does not touch another's."""
    limiter = Limiter(Rate(1, 60), clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_the_table_is_bounded_and_forgets_refilled_buckets() -> None:
    """At most max_keys buckets; idle ones are dropped once refilled."""
    clock = Clock()
    limiter = Limiter(Rate(2, 10), max_keys=100, clock=clock)
    for n in range(1000):
        limiter.take(f"k{n}")
    assert len(limiter) == 100
    clock.now += 10
    limiter.forget_idle()
    assert len(limiter) == 0


def test_rates_parse_and_bad_ones_are_named() -> None:
    """COUNT/SECONDS parses; anything else is refused with the expected shape, and a Rate made
    directly with no count or no period is refused too (its buckets would never work)."""
    assert Rate.parse("5/60") == Rate(5, 60.0)
    for bad in ("5", "x/60", "0/60", "5/0", "-1/2", "1/nan", "1/inf"):
        with pytest.raises(ValueError, match=r"COUNT/SECONDS|positive"):
            Rate.parse(bad)
    for count, seconds in ((0, 60.0), (1, 0.0), (1, -1.0), (1, float("nan"))):
        with pytest.raises(ValueError, match="positive count and period"):
            Rate(count, seconds)


def test_memory_buckets_allow_a_burst_then_refill_one_token_at_a_time() -> None:
    """`count` at once, then a refusal saying when the next token is there; that token comes
    then and not before, and refusals meanwhile spend nothing."""
    clock = Clock()
    buckets = MemoryBuckets(clock=clock)
    rate = Rate(3, 60)
    assert [buckets.take_now("a", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take_now("a", rate) == pytest.approx(20.0)
    clock.now += 19.5
    assert buckets.take_now("a", rate) == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take_now("a", rate) == 0.0
    assert buckets.take_now("a", rate) == pytest.approx(20.0)
    assert buckets.take_now("b", rate) == 0.0  # another key, its own bucket


def test_memory_buckets_are_bounded_and_forget_refilled_ones_by_themselves() -> None:
    """At most max_keys buckets (least recently used out); once `sweep` seconds have passed, a
    take drops every bucket that is full again, with no task to run it."""
    clock = Clock()
    buckets = MemoryBuckets(max_keys=100, sweep=60.0, clock=clock)
    for n in range(1000):
        buckets.take_now(f"k{n}", Rate(2, 10))
    assert len(buckets) == 100 and "k999" in buckets and "k0" not in buckets
    clock.now += 10
    buckets.take_now("x", Rate(2, 10))
    assert len(buckets) == 100  # all refilled, but no sweep is due yet
    clock.now += 50
    buckets.take_now("new", Rate(1, 600))
    assert len(buckets) == 1 and "new" in buckets


async def test_fallback_takes_from_the_shared_store_while_it_answers() -> None:
    """While the shared store answers, every take is its (the local buckets stay empty)."""
    shared, local = MemoryBuckets(), MemoryBuckets()
    buckets = Fallback(shared, local)
    assert [await buckets.take("a", Rate(2, 60)) for _ in range(3)][:2] == [0.0, 0.0]
    assert "a" in shared and len(local) == 0 and buckets.shared


def test_an_address_key_changes_with_its_secret_and_refuses_an_empty_one() -> None:
    """`rekey` (the deployment's shared secret, once the store is open) changes every key to
    what any holder of that secret computes; an empty secret is refused."""
    mine, shared = Addresses(), Addresses(b"s" * 32)
    before = mine.key("203.0.113.9")
    mine.rekey(b"s" * 32)
    assert mine.key("203.0.113.9") == shared.key("203.0.113.9") != before
    with pytest.raises(ValueError, match="empty"):
        mine.rekey(b"")


def test_addresses_are_kept_only_as_keyed_hashes() -> None:
    """The key for an address is stable within a process, differs across secrets, hides it."""
    one, other = Addresses(b"a" * 32), Addresses(b"b" * 32)
    assert one.key("203.0.113.9") == one.key("203.0.113.9")
    assert one.key("203.0.113.9") != other.key("203.0.113.9")
    assert "203.0.113.9" not in one.key("203.0.113.9")


def test_concurrency_caps_open_sockets_per_key() -> None:
    """A key may hold `cap` things open; leaving frees a place."""
    open_ = Concurrency(2)
    assert open_.enter("a") and open_.enter("a")
    assert not open_.enter("a")
    open_.leave("a")
    assert open_.enter("a")


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    """Retry-After rounds up and never says 0."""
    assert retry_after(0.2) == "1"
    assert retry_after(19.01) == "20"
