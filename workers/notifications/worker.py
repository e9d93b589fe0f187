"""The reply-notifications worker: email a commenter who asked for it when someone replies.

`handle` (the Consumer's handler) looks at `comment.created` and `comment.approved` events of
replies. It re-reads the reply and its parent from the store, so what counts is the state NOW:
a reply that is pending, removed (even if removed after its event, before this mail went out)
or deleted sends nothing. A mail goes to the parent's author if they ticked "notify me of
replies", left an email, and are not the reply's author (nobody is mailed about their own
reply, compared case-insensitively).

At least once, deduplicated: the store records (reply, recipient) only AFTER the SMTP server
accepted the mail, and a recorded pair is never mailed again. A worker killed before the send
retries it; one killed between the send and the record sends it again, with the same
deterministic `Message-ID` (`<reply-ID.RECIPIENT_HASH@livethread>`) so mail systems can drop
the duplicate. An SMTP failure raises: the consumer retries the event with backoff.

The mail is plain text: the thread's title (its metadata's, server/threads/meta.py, else the
thread id), the reply's author and text, a link to the comment on its article (`URL#comment-ID`,
the widget there opens it) or, while the thread has no URL, on this server's page of the thread
(`PUBLIC_URL/threads/SITE/THREAD#comment-ID`, server/web/pages.py: it works for every site,
where the start page shows only the demo), and a one-click unsubscribe link,
`PUBLIC_URL/unsubscribe?c=PARENT_ID&t=TOKEN`, where TOKEN is the hex HMAC-SHA256 of the
parent's id under the configured secret (or one kept in the database). It is also sent as the
`List-Unsubscribe` header, on one line and never encoded (see `MailPolicy`), with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).

The mail is written in the recipient's language: the one their request asked for when they
posted the comment that asked for reply mail (`CommentRecord.lang`, server/language).

Only confirmed addresses are mailed (double opt-in, workers/notifications/confirmations.py): a
comment that asks for reply mail with an address not yet confirmed sends that address one
confirmation mail (within limits), and replies to it are not mailed until the address is confirmed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, parseaddr
from urllib.parse import urlencode

import msgspec

# The link rule is the feeds' too (written once there); named here as it always was.
from server.feeds.links import comment_url as comment_url
from server.language.supported import supported
from server.language.text import Text
from server.model import CommentRecord, ThreadMeta
from server.settings import Settings
from server.storage import Secrets
from server.threads.ports import CommentReads, LogEntry, Threads
from server.tokens import UNSUBSCRIBE_SECRET, unsubscribe_token
from workers.notifications.confirmations import Confirmations
from workers.notifications.ports import Addresses, Subscriptions
from workers.prepared import Prepared

log = logging.getLogger(__name__)

# The events after which a reply may have become visible to its parent's author.
WATCHED = ("comment.created", "comment.approved")

# Headers whose value must reach mail clients exactly as written.
UNFOLDED = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class MailPolicy(EmailPolicy):
    """SMTP's policy (CRLF, headers folded at 78), except for the UNFOLDED headers.

    Python folds a header longer than 78 characters, and a value it cannot break at a space (a
    long URL) it rewrites as RFC 2047 encoded words. RFC 2369 does not allow encoded words in
    List-Unsubscribe: mail clients would not find the URL, and one-click unsubscribe (RFC 8058)
    would fail. Those headers go out on one line (RFC 5322 allows 998 characters).
    """

    def fold(self, name: str, value: str) -> str:
        policy = self.clone(max_line_length=0) if name.lower() in UNFOLDED else self
        folded: str = super(MailPolicy, policy).fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        policy = self.clone(max_line_length=0) if name.lower() in UNFOLDED else self
        folded: bytes = super(MailPolicy, policy).fold_binary(name, value)
        return folded


# 7bit: a non-ASCII body goes out quoted-printable, so no SMTP server needs 8BITMIME for it.
POLICY = MailPolicy(linesep="\r\n", cte_type="7bit")


class _Ref(msgspec.Struct):
    id: str = ""
    parent: str | None = None


class _Event(msgspec.Struct):
    """Just what this worker reads of an event; anything else passes through."""

    type: str = ""
    comment: _Ref | None = None


_event = msgspec.json.Decoder(_Event)


def thread_title(meta: ThreadMeta, thread: str) -> str:
    """What a mail calls a thread: its title once named, else its id."""
    return meta.title or thread


def message_id(reply_id: str, recipient: str) -> str:
    """The same on every attempt, so a resent mail can be recognised as a duplicate."""
    digest = hashlib.sha256(recipient.casefold().encode()).hexdigest()[:16]
    return f"<reply-{reply_id}.{digest}@livethread>"


def unsubscribe_url(base_url: str, secret: str, comment_id: str) -> str:
    query = urlencode({"c": comment_id, "t": unsubscribe_token(secret, comment_id)})
    return f"{base_url}/unsubscribe?{query}"


def compose(
    *,
    reply: CommentRecord,
    parent: CommentRecord,
    recipient: str,
    sender: str,
    base_url: str,
    secret: str,
    meta: ThreadMeta | None = None,
) -> EmailMessage:
    """The notification mail about `reply` for the author of `parent`, in the thread `meta`
    names (its title and article; the thread id and this server's page without them), in the
    language `parent` was posted in."""
    lang = supported(parent.lang)
    meta = meta or ThreadMeta()
    title = thread_title(meta, reply.thread)
    link = comment_url(base_url, reply, meta.url)
    unsubscribe = unsubscribe_url(base_url, secret, parent.id)
    mail = EmailMessage(policy=POLICY)
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = Text("mail.reply.subject", title=title).in_language(lang)
    mail["Date"] = formatdate(reply.created_at)
    mail["Message-ID"] = message_id(reply.id, recipient)
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        f"{Text('mail.reply.intro', author=reply.author_name, title=title).in_language(lang)}\n"
        "\n"
        f"{reply.body_source}\n"
        "\n"
        f"{Text('mail.reply.read', link=link).in_language(lang)}\n"
        "\n"
        "--\n"
        f"{Text('mail.reply.why').in_language(lang)}\n"
        f"{Text('mail.reply.stop', link=unsubscribe).in_language(lang)}\n"
    )
    # After set_content, which replaces every Content-* header.
    mail["Content-Language"] = lang
    return mail


class Notifications:
    """The reply-notifications worker (see the module's docstring)."""

    name = "notifications"

    def __init__(
        self,
        settings: Settings,
        *,
        reads: CommentReads,
        threads: Threads,
        subscriptions: Subscriptions,
        addresses: Addresses,
        secrets: Secrets,
        timeout: float = 10.0,
    ) -> None:
        self._reads = reads
        # A batch's replies and the comments they answer, read in two reads per batch.
        self._comments: Prepared[str, CommentRecord] = Prepared(reads.get)
        self._threads = threads
        self._subscriptions = subscriptions
        self._secrets = secrets
        self._settings = settings
        self._timeout = timeout
        self._secret = settings.secret
        self.confirmations = Confirmations(addresses, settings, self._send, policy=POLICY)
        self.sent = 0

    async def aclose(self) -> None:
        """Nothing to release: every mail uses its own SMTP connection."""
        return None

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        ids = [i for i in map(_watched, entries) if i is not None]
        many = self._reads.get_many
        await self._comments.load(ids, many)
        replies = [await self._comments.get(i) for i in ids]
        parents = [r.parent for r in replies if r and r.parent and r.status == "visible"]
        await self._comments.load(parents, many, keep=True)

    async def handle(self, entry: LogEntry) -> None:
        """Mail the parent's author about a reply that is visible now, unless already mailed."""
        reply_id = _watched(entry)
        if reply_id is None:
            return
        reply = await self._comments.get(reply_id)
        if reply is None or reply.status != "visible":
            return
        secret = await self._signing_secret()
        if reply.notify and reply.author_email:
            # An address asking for reply mail: confirmed once, before anything is mailed to it.
            await self.confirmations.ask(
                secret, reply.author_email, reply.site, entry.position, supported(reply.lang)
            )
        if reply.parent is None:
            return
        parent = await self._comments.get(reply.parent)
        if parent is None or not parent.notify or not parent.author_email:
            return
        recipient = parent.author_email
        if reply.author_email and reply.author_email.casefold() == recipient.casefold():
            return
        if not await self.confirmations.confirmed(secret, recipient):
            # Not mailed, now or later. Asked again (within the limits), for subscriptions made
            # before confirmation existed, or whose first mail a limit held back.
            await self.confirmations.ask(
                secret, recipient, parent.site, entry.position, supported(parent.lang)
            )
            return
        if await self._subscriptions.was_notified(reply.id, recipient):
            return
        mail = compose(
            reply=reply,
            parent=parent,
            recipient=recipient,
            sender=self._settings.mail_from,
            base_url=self._settings.base_url,
            secret=secret,
            meta=await self._threads.meta(reply.key),
        )
        await self._send(mail)
        await self._subscriptions.mark_notified(reply.id, recipient)
        self.sent += 1

    async def _signing_secret(self) -> str:
        if self._secret is None:
            self._secret = await self._secrets.get(UNSUBSCRIBE_SECRET)
        return self._secret

    async def _send(self, mail: EmailMessage) -> None:
        settings = self._settings
        sender, recipient = parseaddr(str(mail["From"]))[1], parseaddr(str(mail["To"]))[1]
        # Flattened here, with the mail's own policy: given the message, aiosmtplib would
        # flatten it with its own (email.policy.SMTP), which encodes List-Unsubscribe.
        utf8 = not (sender + recipient).isascii()
        # Loaded by the first mail, not by every server process that runs this worker.
        import aiosmtplib

        await aiosmtplib.send(
            mail.as_bytes(policy=POLICY.clone(utf8=True) if utf8 else POLICY),
            sender=sender,
            recipients=[recipient],
            mail_options=["SMTPUTF8"] if utf8 else [],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=self._timeout,
        )


def _watched(entry: LogEntry) -> str | None:
    """The id of the comment a reply-mail may be about (a new or approved one), else None."""
    try:
        event = _event.decode(entry.payload)
    except msgspec.DecodeError:
        return None
    if event.type not in WATCHED or event.comment is None:
        return None
    return event.comment.id
