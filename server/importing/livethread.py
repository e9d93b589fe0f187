"""livethread's own export format, version 1 (`livethread export`, read back by `livethread
import livethread`):

    {"format": "livethread", "version": 1, "site": "news", "exported": "2026-05-01T10:00:00Z",
     "threads": [{"id": "nato-visit", "title": "…", "url": "https://…",
                  "comments": [{"id": "…", "parent": null | "…",
                                "author": {"name": "…", "email": null | "…", "url": null | "…"},
                                "body_source": "…", "body_html": "…",
                                "created": "…Z", "edited": null | "…Z",
                                "status": "visible" | "pending" | "removed" | "deleted",
                                "pinned": false, "reason": null | "…"}]}]}

Times are RFC 3339 in UTC to the microsecond; comments are oldest first, a parent before its
replies. Emails are in it: keep an export as private as the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from server.importing.ports import BadInput, Source, SourceComment, SourceThread
from server.model import Status

VERSION = 1


class Author(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str | None = None
    url: str | None = None


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    parent: str | None
    author: Author
    body_source: str
    body_html: str
    created: datetime
    edited: datetime | None = None
    status: Status = "visible"
    pinned: bool = False
    reason: str | None = None


class Thread(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str = ""
    url: str = ""
    comments: list[Comment] = msgspec.field(default_factory=list)


class Export(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["livethread"]
    version: int
    site: str
    exported: datetime
    threads: list[Thread]


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def read(path: Path) -> Source:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        export = msgspec.json.decode(data, type=Export)
    except msgspec.ValidationError as exc:
        raise BadInput(f"{path}: not a livethread export: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadInput(f"{path}: not JSON: {exc}") from None
    if export.version != VERSION:
        raise BadInput(f"{path}: export version {export.version}; this livethread reads {VERSION}")
    source = Source(format="livethread")
    for thread in export.threads:
        source.threads.append(
            SourceThread(id=thread.id, title=thread.title, url=thread.url, ours=thread.id)
        )
        for c in thread.comments:
            source.comments.append(
                SourceComment(
                    id=c.id,
                    thread=thread.id,
                    parent=c.parent,
                    author_name=c.author.name,
                    author_email=c.author.email,
                    author_url=c.author.url,
                    text=c.body_source,
                    html=c.body_html,
                    created_at=c.created.timestamp(),
                    edited_at=c.edited.timestamp() if c.edited else None,
                    status=c.status,
                    pinned=c.pinned,
                    reason=c.reason,
                )
            )
    return source
