"""Rate limits: token buckets that refill, stay bounded, and never hold a raw address."""

from __future__ import annotations

import pytest

from server.limits import Addresses, Concurrency, Limiter, Rate, retry_after


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
    """COUNT/SECONDS parses; anything else is refused with the expected shape."""
    assert Rate.parse("5/60") == Rate(5, 60.0)
    for bad in ("5", "x/60", "0/60", "5/0", "-1/2"):
        with pytest.raises(ValueError, match=r"COUNT/SECONDS|positive"):
            Rate.parse(bad)


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
