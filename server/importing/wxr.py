"""WordPress's export (WXR: RSS with the `wp:` namespace): an `<item>` per post or page (`<title>`,
`<link>`, `<wp:post_id>`, `<wp:post_name>`) holding its `<wp:comment>`s (`wp:comment_id`,
`wp:comment_parent` (0 for none), `wp:comment_author`, `_email`, `_url`, `wp:comment_date_gmt`,
`wp:comment_content`, `wp:comment_approved`, `wp:comment_type`).

States: approved `1` is visible, `0` pending, `spam` and `trash` removed (not queued: see
disqus.py). Pingbacks and trackbacks are not comments: skipped.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from server.importing.parsing import as_html, child, local, plain_text, text_of, timestamp, xml_root
from server.importing.ports import BadInput, Skipped, Source, SourceComment, SourceThread
from server.model import Status

_STATES: dict[str, Status] = {"1": "visible", "0": "pending", "spam": "removed", "trash": "removed"}


def read(path: Path) -> Source:
    root = xml_root(path)
    channel = child(root, "channel") if local(root.tag) == "rss" else None
    if channel is None:
        raise BadInput(f"{path}: not a WordPress export (no <rss><channel>)")
    source = Source(format="wxr")
    for item in channel:
        if local(item.tag) != "item":
            continue
        comments = [c for c in item if local(c.tag) == "comment"]
        post_id = text_of(item, "post_id")
        if not post_id:
            if comments:
                raise BadInput(f"{path}: an <item> with comments has no <wp:post_id>")
            continue
        source.threads.append(
            SourceThread(id=post_id, title=text_of(item, "title"), url=text_of(item, "link"))
        )
        for comment in comments:
            _comment(path, post_id, comment, source)
    return source


def _comment(path: Path, post_id: str, element: Element, source: Source) -> None:
    cid = text_of(element, "comment_id")
    if not cid:
        raise BadInput(f"{path}: a comment of post {post_id} has no <wp:comment_id>")
    kind = text_of(element, "comment_type")
    if kind in ("pingback", "trackback"):
        source.skipped.append(Skipped(id=cid, reason=f"a {kind}, not a comment"))
        return
    approved = text_of(element, "comment_approved") or "1"
    status = _STATES.get(approved)
    if status is None:
        raise BadInput(f"{path}: comment {cid} has comment_approved {approved!r}")
    date = text_of(element, "comment_date_gmt") or text_of(element, "comment_date")
    if not date or date.startswith("0000"):
        raise BadInput(f"{path}: comment {cid} has no date")
    body = text_of(element, "comment_content")
    parent = text_of(element, "comment_parent")
    source.comments.append(
        SourceComment(
            id=cid,
            thread=post_id,
            parent=None if parent in ("", "0") else parent,
            author_name=text_of(element, "comment_author"),
            author_email=text_of(element, "comment_author_email") or None,
            author_url=text_of(element, "comment_author_url") or None,
            text=plain_text(as_html(body)),
            html=as_html(body),
            created_at=timestamp(date, f"{path}: comment {cid}"),
            status=status,
            reason=approved if approved in ("spam", "trash") else None,
        )
    )
