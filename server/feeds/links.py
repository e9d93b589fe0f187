"""Where a thread and a comment are linked from outside the widget: reply mails and feeds."""

from __future__ import annotations

from urllib.parse import quote

from server.model import CommentRecord


def thread_url(base_url: str, site: str, thread: str, article: str = "") -> str:
    """The thread's article (`article`, the thread's URL) or, without one, this server's page
    of the thread (`GET /threads/{site}/{thread}`): it works for every site."""
    if article:
        return article
    return f"{base_url}/threads/{quote(site, safe='')}/{quote(thread, safe='')}"


def comment_url(base_url: str, comment: CommentRecord, article: str = "") -> str:
    """The comment on its thread's page (`thread_url`): the widget there opens `#comment-ID`."""
    return f"{thread_url(base_url, comment.site, comment.thread, article)}#comment-{comment.id}"
