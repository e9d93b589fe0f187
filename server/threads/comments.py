"""Use-cases: post, edit, delete, moderate, lock.

Each change is one store transaction (the comment row, the thread's seq and the event row commit
together); the event is published on the bus only after the commit. Redis is an accelerator,
never the truth: if publishing fails, the commit stands and readers catch up from the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import msgspec

from server import channels, events, metrics
from server.accounts.readers import Readers, SignedIn
from server.bus import Bus
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.language.text import Text
from server.memo import Memo
from server.model import (
    ANONYMOUS,
    CommentRecord,
    Moderator,
    PublicComment,
    Site,
    ThreadKey,
    ThreadState,
    public,
)
from server.moderation import actions, audit, bans, review
from server.moderation.automod import Automod, Poster, Verdict
from server.moderation.ports import Ban, Bans
from server.render import render
from server.sites.ports import Moderators, Sites
from server.threads import decisions, edits, history, idempotency, own
from server.threads.authors import Authors
from server.threads.idempotency import PostAnswer
from server.threads.ports import CommentReads, Threads, Transaction
from server.tokens import new_comment_id, token_hash, token_matches
from server.validation import CleanComment

log = logging.getLogger(__name__)


class Comments:
    """The use-cases, over the storage ports and the Bus the composition root chose."""

    def __init__(
        self,
        bus: Bus,
        *,
        threads: Threads,
        comments: CommentReads,
        sites: Sites,
        moderators: Moderators,
        edit_window: float = 900.0,
        clock: Callable[[], float] = time.time,
        after_commit: Callable[[], None] = lambda: None,
        automod: Automod | None = None,
        idempotency_ttl: float = 86400.0,
        readers: Readers | None = None,
        bans: Bans | None = None,
    ) -> None:
        self._threads = threads
        self._comments = comments
        self._idempotency_ttl = idempotency_ttl
        self._automod = automod
        self._bus = bus
        self._edit_window = edit_window
        self._clock = clock
        self._after_commit = after_commit
        self._keys = idempotency.Keys()
        self._sites: Memo[str, Site] = Memo(sites.get)
        self._authors = Authors(moderators, readers)
        self._bans = bans

    def claim(self, idempotency_key: str | None) -> AbstractContextManager[None]:
        """Hold an idempotency key for the length of one request (see idempotency.Keys)."""
        return self._keys.claim(idempotency_key)

    async def site(self, name: str) -> Site:
        site = await self._sites.get(name)
        if site is None:
            raise NotFound(f"Unknown site {name!r}")
        return site

    async def post(
        self,
        new: CleanComment,
        idempotency_key: str | None = None,
        *,
        moderator: Moderator | None = None,
        poster: Poster | None = None,
        signed_in: SignedIn | None = None,
    ) -> PostAnswer:
        """Store a comment and announce it; a retry with the same key gets the first answer.

        A signed-in reader posts under their account's name, email and avatar; the site's
        policy says whether anonymous readers, signed-in ones or both may post. A name that
        reads as one of the site's moderators' (or a reserved role) is refused unless the post
        carries that moderator's token, and an anonymous name that reads as a signed-in
        reader's is refused too. The site's auto-moderation rules run first (a moderator's own
        posts skip them): they may refuse it (nothing is stored), hold it for review, or
        publish it flagged.
        """
        site = await self.site(new.site)
        new = await self._authors.checked(new, moderator, signed_in)
        poster = poster or Poster()
        account = None if signed_in is None else signed_in.account.id
        shadow = await self._screen(new.site, moderator, account, new.email, poster.address)
        verdict = Verdict()
        if self._automod is not None:
            verdict = await self._automod.screen(new, poster, moderator)
        held = site.premoderate or verdict.held or shadow is not None
        fingerprint = idempotency.fingerprint(new)
        comment_id = new_comment_id()
        token, salt = idempotency.edit_token(idempotency_key, comment_id)
        record = CommentRecord(
            id=comment_id,
            site=new.site,
            thread=new.thread,
            parent=new.parent,
            author_name=new.name,
            author_email=new.email,
            author_url=new.url,
            body_source=new.body,
            body_html=render(new.body),
            status="pending" if held else "visible",
            created_at=self._clock(),
            edit_token_hash=token_hash(token),
            notify=new.notify and new.email is not None,
            reason=bans.SHADOW_REASON if shadow else verdict.reason,
            flag=verdict.flagged,
            decided_by=shadow.by if shadow else verdict.by,
            account=account,
            author_key=None if signed_in is None else signed_in.key,
            author_avatar=None if signed_in is None else signed_in.account.avatar,
            author_address=poster.address,
            shadow=shadow is not None,
            lang=new.lang,
        )
        payload: bytes | None = None
        async with self._threads.transaction(new.key) as tx:
            if idempotency_key is not None:
                earlier = await idempotency.replay(
                    tx, idempotency_key, fingerprint, record.created_at - self._idempotency_ttl
                )
                if earlier is not None:
                    metrics.replayed()
                    return earlier
            state = await tx.state()
            if state.locked:
                raise Conflict(Text("thread.locked"))
            # The byline is the thread's: known, like the lock, only inside its transaction.
            badges = self._authors.badges(new, moderator, signed_in, state.byline)
            record = msgspec.structs.replace(record, author_badges=badges)
            # A shadow-banned author is answered as if it were published: they see it so.
            shown = bans.as_shown_to_author(record) if record.shadow else public(record)
            answer = PostAnswer(comment=shown, edit_token=token)
            if new.parent is not None:
                parent = await tx.comment(new.parent)
                # A shadow-banned author sees their own comments as published and may answer
                # them; their reply is a shadow comment too.
                if parent is None or (
                    parent.status == "pending" and not (parent.shadow and record.shadow)
                ):
                    raise Invalid(
                        Text("comment.parent_missing"),
                        {"parent": Text("comment.parent_missing_field")},
                    )
            await tx.insert_comment(record)
            decided = audit.of_verdict(record, verdict)
            if decided is not None:
                await tx.audit(decided)
            # A held comment is not a reader event: it takes no seq until it is approved.
            if record.status == "visible":
                payload = await history.append(
                    tx, events.CommentCreated(seq=0, comment=answer.comment), record.id
                )
            if idempotency_key is not None:
                await idempotency.remember(tx, idempotency_key, fingerprint, answer, record, salt)
            committing = time.perf_counter()
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - committing)
        metrics.posted(held)
        await self._publish(new.key, payload)
        if record.shadow and record.author_address is not None:
            await own.announce(self._bus, record)
        await review.announce(self._bus, None, record)
        return answer

    async def edit(
        self,
        comment_id: str,
        body: str,
        *,
        moderator: Moderator | None,
        edit_token: str | None,
        poster: Poster | None = None,
        signed_in: SignedIn | None = None,
    ) -> PublicComment:
        """Change a comment's text: its author within the edit window (with the edit token, or
        signed in as its account, from any device), or a moderator. An author's edit passes the
        site's rules as a post does, and may wait for a moderator while readers keep the
        approved text (server/threads/edits.py)."""
        found = await self.editable(comment_id, moderator, edit_token, signed_in)
        address = None if poster is None else poster.address
        shadow = await self._screen(
            found.site, moderator, found.account, found.author_email, address
        )
        verdict = Verdict()
        if moderator is None and self._automod is not None:
            verdict = await self._automod.screen_edit(found, body, poster)
        held = moderator is None and (
            (await self.site(found.site)).premoderate or verdict.held or shadow is not None
        )
        async with self._threads.transaction(found.key) as tx:
            current = await self._current(tx, comment_id)
            if current.status not in ("visible", "pending"):
                raise Conflict(Text("comment.removed_no_edit"))
            updated = edits.revised(current, body, verdict, held=held, now=self._clock())
            payload = await edits.store(tx, current, updated)
        await self._publish(found.key, payload)
        await review.announce(self._bus, current, updated)
        return edits.answer(updated)

    async def delete(
        self,
        comment_id: str,
        *,
        moderator: Moderator | None,
        edit_token: str | None,
        signed_in: SignedIn | None = None,
    ) -> PublicComment:
        """An author withdraws a comment (its text is erased); a moderator's delete is a removal."""
        found = await self.editable(comment_id, moderator, edit_token, signed_in)
        if moderator is not None:
            return await self.moderate(comment_id, "remove", moderator, reason="deleted")
        return await self.erase(found)

    async def erase(self, found: CommentRecord) -> PublicComment:
        """Withdraw a comment for good: its text, email and website are erased, readers see
        it go live. For its author, and for a person's request to delete their data."""
        async with self._threads.transaction(found.key) as tx:
            current = await self._current(tx, found.id)
            if current.status == "deleted":
                return public(current)
            # A removed or held comment is erased too (its text and email are personal data),
            # without an event: readers never saw it or already saw it go.
            erased = msgspec.structs.replace(
                current,
                status="deleted",
                author_name=ANONYMOUS,
                body_source="",
                body_html="",
                author_email=None,
                author_url=None,
                author_address=None,
                edited_at=self._clock(),
                pending_body_source=None,
                pending_body_html=None,
            )
            payload = await decisions.take_down(tx, current, erased)
            # A retry of its post must not bring the text back from the answer kept for it.
            await idempotency.erase(tx, erased)
        await self._publish(found.key, payload)
        await review.announce(self._bus, current, erased)
        return public(erased)

    async def moderate(
        self,
        comment_id: str,
        action: str,
        moderator: Moderator,
        *,
        reason: str | None = None,
    ) -> PublicComment:
        """Apply a moderator's decision (or auto-moderation's: the actions table, server/
        moderation/actions.py); repeating a decision already in effect changes nothing."""
        found = await self._comment_of_site(comment_id, moderator.site)
        decision = actions.Decision(by=moderator.name, reason=reason, now=self._clock())
        async with self._threads.transaction(found.key) as tx:
            current = await self._current(tx, comment_id)
            updated, effect = actions.decide(action, current, decision)
            payload = await decisions.carry_out(tx, effect, current, updated)
            if effect != "none":
                await tx.audit(
                    audit.about_comment(updated, action, moderator.name, reason, decision.now)
                )
        await self._publish(found.key, payload)
        await review.announce(self._bus, current, updated)
        return public(updated)

    async def set_locked(self, key: ThreadKey, locked: bool, moderator: Moderator) -> ThreadState:
        """Close or reopen a thread to new comments."""
        if moderator.site != key.site:
            raise Forbidden("Your moderator token is for another site")
        await self.site(key.site)
        payload: bytes | None = None
        async with self._threads.transaction(key) as tx:
            if (await tx.state()).locked != locked:
                await tx.set_locked(locked)
                action = "lock" if locked else "unlock"
                await tx.audit(audit.about_thread(key, action, moderator.name, self._clock()))
                frame: events.DurableEvent = (
                    events.ThreadLocked(seq=0) if locked else events.ThreadUnlocked(seq=0)
                )
                payload = await history.append(tx, frame, None)
            state = await tx.state()
        await self._publish(key, payload)
        return state

    async def _screen(
        self,
        site: str,
        moderator: Moderator | None,
        account: str | None,
        email: str | None,
        address: str | None,
    ) -> Ban | None:
        """Refuse a banned or suspended author (`bans.Banned`); the shadow-ban on them, if any.
        A moderator's own posts and edits are never screened."""
        if self._bans is None or moderator is not None:
            return None
        keys = bans.keys_of(account, email, address)
        return await bans.screen(self._bans, site, keys, self._clock())

    async def _current(self, tx: Transaction, comment_id: str) -> CommentRecord:
        record = await tx.comment(comment_id)
        if record is None:
            raise NotFound(Text("comment.not_found"))
        return record

    async def _comment_of_site(self, comment_id: str, site: str) -> CommentRecord:
        record = await self._comments.get(comment_id)
        if record is None:
            raise NotFound(Text("comment.not_found"))
        if record.site != site:
            raise Forbidden("Your moderator token is for another site")
        return record

    async def editable(
        self,
        comment_id: str,
        moderator: Moderator | None,
        edit_token: str | None,
        signed_in: SignedIn | None = None,
    ) -> CommentRecord:
        """The comment, if the caller may change it now: a moderator of its site, or its author
        (with the edit token, or signed in as its account) within the edit window."""
        if moderator is not None:
            return await self._comment_of_site(comment_id, moderator.site)
        record = await self._comments.get(comment_id)
        if record is None:
            raise NotFound(Text("comment.not_found"))
        own = (
            signed_in is not None
            and record.account is not None
            and (record.site, record.account) == (signed_in.account.site, signed_in.account.id)
        )
        if not own and (
            edit_token is None or not token_matches(edit_token, record.edit_token_hash)
        ):
            raise Forbidden(Text("comment.author_only"))
        if self._clock() - record.created_at > self._edit_window:
            minutes = round(self._edit_window / 60)
            raise Forbidden(Text("comment.edit_window", minutes=minutes))
        return record

    async def _publish(self, key: ThreadKey, payload: bytes | None) -> None:
        if payload is None:
            return
        metrics.committed(key, payload)
        self._after_commit()
        # Readers first; then wake the log's readers (workers), who also poll slowly.
        messages = ((channels.thread(key), payload), (channels.LOG, b""))
        if not await self._bus.publish_all(messages):
            # Committed but not announced: every process's hub finds it in the log's tail.
            log.warning("bus unavailable; event for %s committed but not published", key)
