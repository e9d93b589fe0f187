"""Remark42's backup: one JSON object a line. The first is the header (`version`, `users`,
`posts`: each page's `url` and `read_only`); every other line is a comment: `id`, `pid` (its
parent's id, "" for none), `text` (HTML), `orig` (the author's Markdown), `user` (`name`, `id`,
`picture`), `locator` (`site`, `url`: the page), `time` (RFC 3339), `edit` (`time`), `pin`,
`delete`, and `title` (the page's).

Threads are the pages' URLs. Remark42 keeps no emails and no pending state; a deleted comment
is kept as removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from server.importing.parsing import plain_text, timestamp
from server.importing.ports import BadInput, Source, SourceComment, SourceThread


class _User(msgspec.Struct, kw_only=True):
    name: str = ""
    id: str = ""


class _Locator(msgspec.Struct, kw_only=True):
    site: str = ""
    url: str


class _Edit(msgspec.Struct, kw_only=True):
    time: str | None = None


class _Comment(msgspec.Struct, kw_only=True):
    id: str
    pid: str = ""
    text: str = ""
    orig: str | None = None
    user: _User = msgspec.field(default_factory=_User)
    locator: _Locator
    time: str
    edit: _Edit | None = None
    pin: bool = False
    delete: bool = False
    title: str = ""


_comment = msgspec.json.Decoder(_Comment)


def read(path: Path) -> Source:
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not lines:
        raise BadInput(f"{path}: empty")
    try:
        header: Any = msgspec.json.decode(lines[0])
    except msgspec.DecodeError as exc:
        raise BadInput(f"{path}: line 1: not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("version") != 1:
        raise BadInput(f'{path}: not a Remark42 backup (line 1 has no "version": 1)')
    source = Source(format="remark42")
    threads: dict[str, SourceThread] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            record = _comment.decode(line)
        except msgspec.DecodeError as exc:
            raise BadInput(f"{path}: line {number}: {exc}") from None
        where = f"{path}: line {number}"
        url = record.locator.url
        if url not in threads or (record.title and not threads[url].title):
            threads[url] = SourceThread(id=url, title=record.title, url=url)
        edited = record.edit.time if record.edit and record.edit.time else None
        source.comments.append(
            SourceComment(
                id=record.id,
                thread=url,
                parent=record.pid or None,
                author_name=record.user.name,
                text=record.orig if record.orig is not None else plain_text(record.text),
                html=record.text,
                created_at=timestamp(record.time, where),
                edited_at=timestamp(edited, where) if edited else None,
                status="removed" if record.delete else "visible",
                pinned=record.pin,
                reason="deleted" if record.delete else None,
            )
        )
    source.threads = list(threads.values())
    return source
