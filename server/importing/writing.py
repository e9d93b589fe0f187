"""Writing a read `Source` into a site: each thread in one transaction, each comment with its
`comment.created` event appended by the log's own rules (server/threads/history.py), so live
readers, snapshots and replays see the thread as if its comments had been posted in order.

Safe to run again: every source comment is given its id here (remembered, `ImportedComments`)
before anything of its thread is written, so a second run finds the same ids and writes only
what is missing. Each thread's new events are then announced on the bus, as a post's are (open
pages show them; a page that misses them finds them in the log). Workers pass over the events
written here (`Cursors.passed_over`): nobody is mailed, no webhook is called and no classifier
asked about years-old comments. A thread whose transaction fails is rolled back whole and
reported; the threads before it stay written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server import events
from server.importing.naming import thread_id
from server.importing.parsing import plain_text
from server.importing.ports import ImportedComments, Skipped, Source, SourceComment
from server.model import ANONYMOUS, CommentRecord, ThreadKey, ThreadMeta, public
from server.render import clean_name, clean_url, render, sanitize
from server.storage import StoreError
from server.threads import history
from server.threads.ports import CommentReads, Threads
from server.tokens import new_comment_id
from server.validation import EMAIL_MAX, NAME_MAX, TITLE_MAX

Progress = Callable[[str, int, int], None]
# After a thread's commit, its new events' bytes (for the bus: open pages and workers).
Announce = Callable[[ThreadKey, list[bytes]], Awaitable[None]]
# After each thread: the threads and the comments done so far (for `ImportRuns`).
Done = Callable[[int, int], Awaitable[None]]


async def _silent(key: ThreadKey, payloads: list[bytes]) -> None:
    return None


async def _unrecorded(threads: int, comments: int) -> None:
    return None


@dataclass
class Summary:
    """What an import wrote (or, dry, would write), thread by thread, and what it left out."""

    threads: dict[str, int] = field(default_factory=dict)  # our thread id -> comments new
    already: int = 0  # comments a previous run wrote
    skipped: list[Skipped] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # thread id -> why it was rolled back

    @property
    def written(self) -> int:
        return sum(self.threads.values())


@dataclass
class _Thread:
    key: ThreadKey
    meta: ThreadMeta
    comments: list[SourceComment] = field(default_factory=list)


# A thread as `plan` gives it: ours, its title and URL, its comments in writing order.
Planned = _Thread


def _url(raw: str | None) -> str | None:
    try:
        return clean_url(raw or "")
    except ValueError:
        return None


def _ordered(comments: list[SourceComment], skipped: list[Skipped]) -> list[SourceComment]:
    """A thread's comments oldest first, every parent before its replies. A reply whose parent
    is not in the thread (absent, skipped, another thread's) is skipped, and so are its own
    replies, and comments in a parent loop."""
    ids = {c.id for c in comments}
    children: dict[str | None, list[SourceComment]] = {}
    left: set[str] = set()
    for c in sorted(comments, key=lambda c: (c.created_at, c.id)):
        if c.parent is not None and c.parent not in ids:
            skipped.append(Skipped(id=c.id, reason=f"its parent {c.parent} is not in its thread"))
            left.add(c.id)
            continue
        children.setdefault(c.parent, []).append(c)
    ordered: list[SourceComment] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        comment = stack.pop()
        ordered.append(comment)
        stack.extend(reversed(children.get(comment.id, [])))
    reached = {c.id for c in ordered}
    skipped.extend(
        Skipped(id=c.id, reason="its parent was skipped, or it is in a parent loop")
        for c in comments
        if c.id not in reached and c.id not in left
    )
    return ordered


def plan(source: Source, site: str, mapping: dict[str, str]) -> tuple[list[_Thread], Summary]:
    """The source's threads as ours, each with its comments in writing order."""
    summary = Summary(skipped=list(source.skipped))
    threads: dict[str, _Thread] = {}
    ours: dict[str, _Thread] = {}
    for t in source.threads:
        thread = thread_id(site, t, mapping)
        if thread is None:
            continue
        title = clean_name(t.title)[:TITLE_MAX]
        planned = ours.setdefault(thread, _Thread(ThreadKey(site, thread), ThreadMeta()))
        if not planned.meta.title and not planned.meta.url:
            planned.meta = ThreadMeta(title=title, url=_url(t.url) or "")
        threads[t.id] = planned
    for c in source.comments:
        target = threads.get(c.thread)
        if target is None:
            summary.skipped.append(Skipped(id=c.id, reason=f"no valid thread id for {c.thread!r}"))
        elif c.status in ("visible", "pending") and not (c.text or c.html or "").strip():
            summary.skipped.append(Skipped(id=c.id, reason="no text"))
        else:
            target.comments.append(c)
    for mine in ours.values():
        mine.comments = _ordered(mine.comments, summary.skipped)
    return list(ours.values()), summary


def record(c: SourceComment, key: ThreadKey, cid: str, parent: str | None) -> CommentRecord:
    """The comment as we keep it: names and URLs cleaned as a post's are, the HTML cleaned
    against the same allowlist (a fixed point: our own export comes back unchanged)."""
    html = sanitize(c.html).strip() if c.html is not None else render(c.text or "")
    email = (c.author_email or "").strip()
    return CommentRecord(
        id=cid,
        site=key.site,
        thread=key.thread,
        parent=parent,
        author_name=clean_name(c.author_name)[:NAME_MAX] or ANONYMOUS,
        author_email=email if email and len(email) <= EMAIL_MAX else None,
        author_url=_url(c.author_url),
        body_source=c.text if c.text is not None else plain_text(html),
        body_html=html,
        status=c.status,
        created_at=c.created_at,
        edited_at=c.edited_at,
        pinned=c.pinned,
        reason=c.reason,
        decided_by=f"import:{c.reason}" if c.reason else None,
    )


@dataclass
class Writer:
    """Writes a planned import through the store's ports."""

    threads: Threads
    comments: CommentReads
    imports: ImportedComments
    announce: Announce = _silent
    done: Done = _unrecorded

    async def ids(self, source: Source, planned: list[_Thread], *, dry: bool) -> dict[str, str]:
        """Each planned comment's id here: the one a previous run gave it, else a new one,
        remembered before anything is written. Our own export keeps its ids: a free one is
        taken as it is, and one this site has already (the export of this very database) names
        that comment, which is then found written and left alone."""
        wanted = [c.id for t in planned for c in t.comments]
        site = planned[0].key.site if planned else ""
        given = await self.imports.known(site, source.format, wanted)
        fresh = [i for i in wanted if i not in given]
        ours = source.format == "livethread"
        taken = await self.comments.get_many(fresh) if ours else {}
        here = {i for i, found in taken.items() if found.site == site}
        new = {
            i: i if ours and i not in taken else new_comment_id() for i in fresh if i not in here
        }
        if not dry:
            await self.imports.remember(site, source.format, list(new.items()))
        return {**given, **new, **{i: i for i in here}}

    async def write(
        self,
        source: Source,
        planned: list[_Thread],
        summary: Summary,
        progress: Progress,
        *,
        dry: bool = False,
    ) -> Summary:
        ids = await self.ids(source, planned, dry=dry)
        total, done, threads = sum(len(t.comments) for t in planned), 0, 0
        for thread in planned:
            if not thread.comments:
                continue  # a page nobody commented on: no thread for it
            try:
                new = await self._thread(thread, ids, dry=dry)
            except StoreError as exc:
                summary.failed[thread.key.thread] = str(exc)
                new = 0
            summary.threads[thread.key.thread] = new
            summary.already += (
                len(thread.comments) - new if thread.key.thread not in summary.failed else 0
            )
            done += len(thread.comments)
            threads += 1
            progress(thread.key.thread, done, total)
            await self.done(threads, done)
        return summary

    async def _thread(self, thread: _Thread, ids: dict[str, str], *, dry: bool) -> int:
        if dry:
            have = await self.comments.get_many([ids[c.id] for c in thread.comments])
            return sum(1 for c in thread.comments if ids[c.id] not in have)
        payloads: list[bytes] = []
        async with self.threads.transaction(thread.key) as tx:
            for c in thread.comments:
                cid = ids[c.id]
                if await tx.comment(cid) is not None:
                    continue  # a previous run wrote it
                parent = ids[c.parent] if c.parent is not None else None
                stored = record(c, thread.key, cid, parent)
                await tx.insert_comment(stored)
                created = events.CommentCreated(seq=0, comment=public(stored))
                payloads.append(await history.append(tx, created, cid))
        if thread.meta.title or thread.meta.url:
            await self.threads.set_meta(thread.key, thread.meta, first=True)
        if payloads:
            await self.announce(thread.key, payloads)
        return len(payloads)
