"""The demo article: the seed's thread as site `demo`; its byline author moderates."""

from __future__ import annotations

import time
from importlib import resources

import msgspec

from server.model import ANONYMOUS, CommentRecord, Moderator, Site, ThreadKey, ThreadMeta
from server.render import render
from server.storage import Storage
from server.tokens import new_token, token_hash

SITE = "demo"
THREAD = "nato-secretary-general-visits-kyiv"
TITLE = "NATO Secretary General visits Kyiv"
# Spacing of the seed's comments in time (the seed has no timestamps, only order).
SPACING_SECONDS = 17 * 60


class SeedArticle(msgspec.Struct, frozen=True):
    id: str
    byline: str
    byline_bio: str
    paragraphs: list[str]


class SeedComment(msgspec.Struct, frozen=True):
    id: str
    parent: str | None
    status: str
    author: str | None
    body: str | None


class Seed(msgspec.Struct, frozen=True):
    article: SeedArticle
    header_comment_count: int
    form_errors: list[str]
    comments: list[SeedComment]


def seed() -> Seed:
    data = resources.files("server").joinpath("data/thread.json").read_bytes()
    return msgspec.json.decode(data, type=Seed)


async def install(store: Storage, now: float | None = None) -> None:
    """Create the demo site and thread unless they exist; never touches a thread in use."""
    if await store.sites.get(SITE) is None:
        await store.sites.put(Site(name=SITE))
    # Its title as any article's is kept, so mails name it with no code knowing the demo. No
    # URL: the demo site lists no origins, and its mails link to /threads/demo/… as before.
    await store.threads.set_meta(ThreadKey(SITE, THREAD), ThreadMeta(title=TITLE), first=True)
    loaded = seed()
    # Lisa West writes the article and moderates its comments: her posts carry both badges.
    if not (await store.threads.state(ThreadKey(SITE, THREAD))).byline:
        await store.threads.set_byline(ThreadKey(SITE, THREAD), loaded.article.byline)
    start = (time.time() if now is None else now) - SPACING_SECONDS * len(loaded.comments)
    async with store.threads.transaction(ThreadKey(SITE, THREAD)) as tx:
        if (await tx.state()).seq > 0 or await tx.comment(loaded.comments[0].id) is not None:
            return
        for index, comment in enumerate(loaded.comments):
            removed = comment.status == "removed"
            body = "" if removed or comment.body is None else comment.body
            await tx.insert_comment(
                CommentRecord(
                    id=comment.id,
                    site=SITE,
                    thread=THREAD,
                    parent=comment.parent,
                    author_name=comment.author or ANONYMOUS,
                    body_source=body,
                    body_html=render(body) if body else "",
                    status="removed" if removed else "visible",
                    created_at=start + SPACING_SECONDS * index,
                )
            )


async def issue_moderator_token(store: Storage) -> str:
    """A fresh token for the byline author (replacing the last one), printed by `serve --demo`."""
    token = new_token()
    await store.moderators.put(Moderator(name=seed().article.byline, site=SITE), token_hash(token))
    return token
