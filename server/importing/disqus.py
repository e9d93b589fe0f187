"""Disqus's XML export: `<thread dsq:id>` elements (`<id>` the site's identifier, `<link>`,
`<title>`), then `<post dsq:id>` elements (`<message>` HTML, `<createdAt>`, `<author>` with
`<name>`, `<email>`, `<link>`, `<thread dsq:id>`, an optional `<parent dsq:id>`, `<isDeleted>`,
`<isSpam>`, and `<isApproved>` in newer exports).

States: deleted and spam are kept as removed (a moderator may restore them; spam is not put in
the review queue, where years of it would bury today's), not approved as pending.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from server.importing.parsing import child, local, plain_text, text_of, timestamp, xml_root
from server.importing.ports import BadInput, Skipped, Source, SourceComment, SourceThread
from server.model import Status


def _dsq_id(element: Element | None) -> str:
    if element is None:
        return ""
    for name, value in element.attrib.items():
        if local(name) == "id":
            return value.strip()
    return ""


def _true(element: Element, name: str, default: bool = False) -> bool:
    text = text_of(element, name).lower()
    return default if not text else text == "true"


def read(path: Path) -> Source:
    root = xml_root(path)
    if local(root.tag) != "disqus":
        raise BadInput(f"{path}: not a Disqus export (its root is <{local(root.tag)}>)")
    source = Source(format="disqus")
    for element in root:
        if local(element.tag) == "thread":
            source.threads.append(_thread(path, element))
    threads = {t.id for t in source.threads}
    for element in root:
        if local(element.tag) == "post":
            _post(path, element, threads, source)
    return source


def _thread(path: Path, element: Element) -> SourceThread:
    dsq = _dsq_id(element)
    if not dsq:
        raise BadInput(f"{path}: a <thread> without dsq:id")
    return SourceThread(
        id=dsq,
        title=text_of(element, "title"),
        url=text_of(element, "link"),
    )


def _post(path: Path, element: Element, threads: set[str], source: Source) -> None:
    dsq = _dsq_id(element)
    if not dsq:
        raise BadInput(f"{path}: a <post> without dsq:id")
    thread = _dsq_id(child(element, "thread"))
    if thread not in threads:
        source.skipped.append(Skipped(id=dsq, reason=f"its thread {thread!r} is not in the file"))
        return
    created = text_of(element, "createdAt")
    if not created:
        raise BadInput(f"{path}: post {dsq} has no <createdAt>")
    author = child(element, "author")
    name = text_of(author, "name") if author is not None else ""
    email = text_of(author, "email") if author is not None else ""
    link = text_of(author, "link") if author is not None else ""
    message = text_of(element, "message")
    spam, deleted = _true(element, "isSpam"), _true(element, "isDeleted")
    status: Status = "removed" if spam or deleted else "visible"
    if status == "visible" and not _true(element, "isApproved", default=True):
        status = "pending"
    source.comments.append(
        SourceComment(
            id=dsq,
            thread=thread,
            parent=_dsq_id(child(element, "parent")) or None,
            author_name=name,
            author_email=email or None,
            author_url=link or None,
            text=plain_text(message),
            html=message,
            created_at=timestamp(created, f"{path}: post {dsq}"),
            status=status,
            reason="spam" if spam else ("deleted" if deleted else None),
        )
    )
