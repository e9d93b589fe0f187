"""Auto-moderation at post and edit time: the cheap rules, run before a text is stored.

Rules that refuse (banned words: 422; velocity: 429) raise, so nothing is stored. Rules that
hold (too many links, the same body in another thread) or flag (suspect words) shape the
comment that is stored: held comments wait for a moderator, hidden from readers; flagged ones
are published and wait for a moderator's look. The optional external classifier is asked
later, by the automod worker (workers/classifier.py), so it never holds up a reader's request.

Velocity is counted in `Buckets`, as the web edge's rate limits are: shared by every process
on the bus's Redis, so N hosts allow a site's velocity once (per process only while Redis
cannot answer). Authors and addresses enter only as keyed hashes (`Addresses`, the
deployment's secret), a rate as its text, so a rule changed starts its buckets afresh.

Repeats (the same text in another thread) are remembered per server process, in memory, keyed
by hashes and a body's digest: a hold, not a refusal, that catches a spam run posting through
one process; through N processes behind a proxy that spreads one poster's requests, a run is
caught once two of its posts land on one process (see README, "More than one host").
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from server.errors import Invalid, Throttled
from server.language.text import Text
from server.limits import Addresses, Buckets, MemoryBuckets, Rate
from server.memo import Memo
from server.model import CommentRecord, Moderator, ThreadKey
from server.moderation import rules as rule
from server.moderation.ports import RuleBook
from server.moderation.rules import Rules
from server.names import skeleton
from server.validation import CleanComment

# Most bodies remembered for the repeat rule (least recently posted forgotten first).
REPEATS_MAX = 50_000
# Remembered threads per body and poster: enough to see "another thread".
THREADS_PER_BODY = 4
# Sites' rules are read from the store at most this often per process.
RULES_TTL = 2.0


class Poster(msgspec.Struct, frozen=True, kw_only=True):
    """Who is posting, as the web edge knows them: the client address as a keyed hash, and a
    signed-in reader's account id."""

    address: str | None = None
    account: str | None = None


# Whether a site has a published comment by an account (or, without one, an email): the store's
# `CommentReads.published_by`.
History = Callable[[str, str | None, str | None], Awaitable[bool]]
FIRST_TIME = "first comment: held until a moderator approves one of theirs"


@dataclass(frozen=True)
class Verdict:
    """What the rules decided about a comment they let through."""

    hold: list[tuple[str, str]] = field(default_factory=list)
    flag: list[tuple[str, str]] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return bool(self.hold)

    @property
    def reason(self) -> str | None:
        """Why it is held (for the moderator), or None."""
        return _text(self.hold)

    @property
    def flagged(self) -> str | None:
        """Why it is flagged (for the moderator), or None."""
        return _text(self.flag)

    @property
    def by(self) -> str | None:
        """Who decided: "automod:" and the rules that fired."""
        fired = [name for name, _ in (*self.hold, *self.flag)]
        return "automod:" + ",".join(dict.fromkeys(fired)) if fired else None


def _text(found: list[tuple[str, str]]) -> str | None:
    return "; ".join(text for _, text in found) or None


class Automod:
    """The post-time rules of every site, with their per-process memory."""

    def __init__(
        self,
        rules: RuleBook,
        *,
        velocity: bool = True,
        buckets: Buckets | None = None,
        addresses: Addresses | None = None,
        history: History | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`buckets` counts velocity (this process's memory unless given); `addresses` hashes
        authors (the web edge's, so one secret keys both); `history` tells a first comment
        (without it, the `first_time_hold` rule cannot apply and holds nothing)."""
        self._rule_book = rules
        self._history = history
        # False with LIVETHREAD_RATE_LIMIT=0: benchmarks and load tests post from one address.
        self._velocity = velocity
        self._buckets = MemoryBuckets(clock=clock) if buckets is None else buckets
        self._keys = Addresses() if addresses is None else addresses
        self._clock = clock
        # (site, body digest, poster key) -> {thread: when}, most recent last.
        self._seen: OrderedDict[tuple[str, str, str], dict[str, float]] = OrderedDict()
        self._rules: Memo[str, Rules] = Memo(self._stored_rules, ttl=RULES_TTL, clock=clock)

    async def rules(self, site: str) -> Rules:
        """A site's rules (the defaults if it never set any), cached for a moment."""
        return await self._rules.get(site) or Rules()

    async def _stored_rules(self, site: str) -> Rules:
        # The defaults are remembered too: most sites never set rules, and a memo that only
        # kept what it found would read the store on every one of their posts.
        return await self._rule_book.get(site) or Rules()

    async def screen(
        self, new: CleanComment, poster: Poster, moderator: Moderator | None = None
    ) -> Verdict:
        """Refuse (Invalid, Throttled) or judge a new comment; remembers it for later ones.
        The site's own moderators are trusted: their posts skip the rules."""
        if moderator is not None and moderator.site == new.site:
            return Verdict()
        rules = await self.rules(new.site)
        _refuse_banned(new.body, rules)
        if rule.found(new.name, rules.banned):
            raise Invalid(
                Text("name.words"),
                {"author.name": Text("name.choose_another")},
            )
        author = self._author(new.site, new.email, new.name)
        await self._check_velocity(new.site, rules, author, poster.address)
        verdict = self._judge(new.key, new.body, rules, [author, *filter(None, [poster.address])])
        if rules.first_time_hold and not await self._known(new, poster):
            verdict.hold.append(("first_time", FIRST_TIME))
        return verdict

    async def _known(self, new: CleanComment, poster: Poster) -> bool:
        """Whether the author has a published comment on the site: an account, or an email
        (an author with neither cannot be told from a newcomer, so is one)."""
        if self._history is None:
            return True
        return await self._history(new.site, poster.account, new.email)

    async def screen_edit(
        self, record: CommentRecord, body: str, poster: Poster | None = None
    ) -> Verdict:
        """Refuse (Invalid) or judge an author's new text for a comment, by the rules a post
        passes; velocity excepted, since an edit adds no comment. (A moderator's edit skips
        the rules: the caller does not ask.)"""
        rules = await self.rules(record.site)
        _refuse_banned(body, rules)
        author = self._author(record.site, record.author_email, record.author_name)
        address = poster.address if poster is not None else None
        return self._judge(record.key, body, rules, [author, *filter(None, [address])])

    def _judge(self, key: ThreadKey, body: str, rules: Rules, posters: list[str]) -> Verdict:
        """The rules that hold or flag a text (links, repeats, suspect words)."""
        verdict = Verdict()
        count = rule.links(body)
        if count > rules.links_max:
            verdict.hold.append(
                (
                    "links",
                    f"{count} links: comments with more than {rules.links_max} wait for review",
                )
            )
        if self._repeated(key, body, rules, posters):
            verdict.hold.append(("repeat", "the same text was just posted in another thread"))
        suspect = rule.found(body, rules.suspect)
        if suspect:
            verdict.flag.append(("suspect", f"suspect words: {', '.join(suspect)}"))
        return verdict

    async def _check_velocity(
        self, site: str, rules: Rules, author: str, address: str | None
    ) -> None:
        if not self._velocity:
            return
        for what, rate, key in (
            ("author", rules.velocity_author, author),
            ("address", rules.velocity_address, address),
        ):
            if rate is None or key is None:
                continue
            wait = await self._buckets.take(
                f"velocity:{site}\n{what}\n{rate}\n{key}", Rate.parse(rate)
            )
            if wait:
                key = "rate.author" if what == "author" else "rate.address"
                raise Throttled(Text(key, seconds=max(1, round(wait))), wait)

    def _author(self, site: str, email: str | None, name: str) -> str:
        # The email when given (a person's stable handle), else the name as a skeleton, so
        # "Ann", "ANN" and "Ann" spelt with a Cyrillic A are one author. A keyed hash: it
        # reaches Redis (velocity), where a plain hash of an email could be looked up.
        handle = f"email:{email.casefold()}" if email else f"name:{skeleton(name)}"
        return self._keys.key(f"{site}\n{handle}")

    def _repeated(self, where: ThreadKey, text: str, rules: Rules, posters: list[str]) -> bool:
        body = rule.repeat_key(text)
        if body is None or rules.repeat_window <= 0:
            return False
        digest = hashlib.sha256(body.encode()).hexdigest()[:32]
        now = self._clock()
        repeated = False
        for poster in posters:
            key = (where.site, digest, poster)
            threads = self._seen.pop(key, {})
            fresh = {t: at for t, at in threads.items() if now - at <= rules.repeat_window}
            if any(other != where.thread for other in fresh):
                repeated = True
            fresh.pop(where.thread, None)
            fresh[where.thread] = now
            # Keep the newest few threads: enough to tell "another thread" next time.
            self._seen[key] = dict(list(fresh.items())[-THREADS_PER_BODY:])
        while len(self._seen) > REPEATS_MAX:
            self._seen.popitem(last=False)
        return repeated


def _refuse_banned(body: str, rules: Rules) -> None:
    banned = rule.found(body, rules.banned)
    if banned:
        raise Invalid(
            Text("body.words"),
            {"body": Text("body.remove_words", words=", ".join(banned))},
        )
