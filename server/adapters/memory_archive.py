"""The in-memory twin of the `Archive` port (server/archive/ports.py): the `Tables` as rows.

Rows are made from the tables' records and back, JSON columns encoded as the SQL stores encode
them. An event may only be written at the log's next position (the in-memory log has no holes),
which a copy in the source's position order always is.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterator, Sequence

import msgspec

from server.accounts.ports import Account, SignIn
from server.adapters.memory_archive_imports import import_rows, import_writers
from server.adapters.memory_store import MemoryDatabase
from server.adapters.memory_tables import EventRow as MemoryEvent
from server.adapters.memory_tables import SeenAccount, Tables
from server.archive import ports as a
from server.events import EventType
from server.model import CommentRecord, Moderator, ModeratorRole, Site, ThreadKey, ThreadState
from server.moderation.ports import AuditEntry, Ban, Report
from server.moderation.rules import Rules
from server.reactions.ports import ReactionKind
from server.storage import Storage, StoreError
from server.threads.ports import IdempotentAnswer
from workers.notifications.ports import AddressState
from workers.webhooks.ports import Delivery, Webhook


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class MemoryArchive:
    """`Archive` over one in-memory store's tables."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def _rows(self, table: a.Table) -> Iterator[a.Row]:
        t = self._tables
        name = table.name
        if name == "sites":
            for s in t.sites.values():
                yield a.SiteRow(
                    name=s.name, origins=_json(list(s.origins)), premoderate=s.premoderate
                )
        elif name == "moderators":
            for (site, who), token in t.tokens.items():
                role = t.moderators[token].role
                yield a.ModeratorRow(site=site, name=who, token_hash=token, role=role)
        elif name == "rules":
            for site, rules in t.rules.items():
                yield a.RulesRow(site=site, config=_json(rules))
        elif name == "threads":
            for k, st in t.threads.items():
                yield a.ThreadRow(
                    site=k.site, thread=k.thread, seq=st.seq, locked=st.locked,
                    title=st.title, url=st.url, byline=st.byline,
                )  # fmt: skip
        elif name == "comments":
            for thread in t.comments.values():
                yield from thread.values()
        elif name == "events":
            for position, (k, seq) in enumerate(t.log, start=1):
                e = t.event(k, seq)
                if e is not None:
                    yield a.EventRow(
                        position=position, site=k.site, thread=k.thread, seq=seq, type=e.type,
                        comment_id=e.comment_id, payload=e.payload,
                    )  # fmt: skip
        elif name == "idempotency":
            for (site, _), ans in t.answers.items():
                yield a.AnswerRow(site=site, **msgspec.structs.asdict(ans))
        elif name == "cursors":
            for cursor, (position, owner, until) in t.cursors.items():
                yield a.CursorRow(name=cursor, position=position, owner=owner, lease_until=until)
        elif name == "webhooks":
            for w in t.webhooks.values():
                yield a.WebhookRow(
                    id=w.id, site=w.site, url=w.url, secret=w.secret, events=_json(list(w.events))
                )
        elif name == "deliveries":
            yield from t.deliveries.values()
        elif name == "notifications_sent":
            for reply_id, recipient in t.notified:
                yield a.NotifiedRow(reply_id=reply_id, recipient=recipient)
        elif name == "secrets":
            for secret, value in t.secrets.items():
                yield a.SecretRow(name=secret, value=value)
        elif name == "mail_addresses":
            for key, address in t.addresses.items():
                yield a.AddressRow(
                    key=key, site=t.address_sites.get(key), requested_at=address.requested_at,
                    confirmed_at=address.confirmed_at,
                )  # fmt: skip
        elif name == "sign_ins":
            for si in t.sign_ins.values():
                yield a.SignInRow(
                    site=si.site, policy=si.policy, audience=si.audience, issuer=si.issuer,
                    secret=si.secret, public_key=si.public_key, jwks_url=si.jwks_url,
                    roles=_json(list(si.roles)),
                )  # fmt: skip
        elif name == "accounts":
            for seen in t.accounts.values():
                acc = seen.account
                yield a.AccountRow(
                    site=acc.site, id=acc.id, name=acc.name, skeleton=seen.skeleton,
                    email=acc.email, avatar=acc.avatar, roles=_json(list(acc.roles)),
                    first_seen=seen.first_seen, last_seen=seen.last_seen,
                )  # fmt: skip
        elif name == "reports":
            yield from t.reports.values()
        elif name == "audit":
            yield from t.audit.values()
        elif name == "bans":
            yield from t.bans.values()
        elif name == "reactions":
            for (comment_id, reader, kind), k in t.reactions.items():
                yield a.ReactionRow(
                    comment_id=comment_id, reader=reader, kind=kind, site=k.site, thread=k.thread
                )
        elif name == "reaction_counts":
            for (comment_id, kind), n in t.reaction_counts.items():
                yield a.ReactionCountRow(comment_id=comment_id, kind=kind, n=n)
        elif name == "reaction_versions":
            for comment_id, (k, version) in t.reaction_versions.items():
                yield a.ReactionVersionRow(
                    comment_id=comment_id, site=k.site, thread=k.thread, version=version
                )
        else:
            yield from import_rows(t, name)

    async def read(self, table: a.Table, after: a.Key | None, limit: int) -> list[a.Row]:
        keyed = sorted(((table.key_of(row), row) for row in self._rows(table)), key=lambda p: p[0])
        return [row for key, row in keyed if after is None or key > after][: max(limit, 0)]

    async def count(self, table: a.Table) -> int:
        return sum(1 for _ in self._rows(table))

    async def write(self, table: a.Table, rows: Sequence[a.Row]) -> int:
        put = self._writers()[table.name]
        return sum(1 for row in rows if put(row))

    def _writers(self) -> dict[str, Callable[[a.Row], bool]]:
        return {
            "sites": self._site,
            "moderators": self._moderator,
            "rules": self._rules,
            "threads": self._thread,
            "comments": self._comment,
            "events": self._event,
            "idempotency": self._answer,
            "cursors": self._cursor,
            "webhooks": self._webhook,
            "deliveries": self._delivery,
            "notifications_sent": self._notified,
            "secrets": self._secret,
            "mail_addresses": self._address,
            "sign_ins": self._sign_in,
            "accounts": self._account,
            "reports": self._report,
            "audit": self._audit,
            "bans": self._ban,
            "reactions": self._reaction,
            "reaction_counts": self._reaction_count,
            "reaction_versions": self._reaction_version,
            **import_writers(self._tables),
        }

    def _need_site(self, site: str) -> None:
        if site not in self._tables.sites:
            raise StoreError(f"no site {site!r}")

    def _site(self, row: a.Row) -> bool:
        assert isinstance(row, a.SiteRow)
        if row.name in self._tables.sites:
            return False
        origins = msgspec.json.decode(row.origins, type=tuple[str, ...])
        self._tables.sites[row.name] = Site(
            name=row.name, origins=origins, premoderate=row.premoderate
        )
        return True

    def _moderator(self, row: a.Row) -> bool:
        assert isinstance(row, a.ModeratorRow)
        t = self._tables
        if (row.site, row.name) in t.tokens:
            return False
        self._need_site(row.site)
        if row.token_hash in t.moderators:
            raise StoreError("that token hash already belongs to another moderator")
        t.tokens[(row.site, row.name)] = row.token_hash
        t.moderators[row.token_hash] = Moderator(
            name=row.name, site=row.site, role=msgspec.convert(row.role, ModeratorRole)
        )
        return True

    def _rules(self, row: a.Row) -> bool:
        assert isinstance(row, a.RulesRow)
        if row.site in self._tables.rules:
            return False
        self._need_site(row.site)
        self._tables.rules[row.site] = msgspec.json.decode(row.config, type=Rules)
        return True

    def _thread(self, row: a.Row) -> bool:
        assert isinstance(row, a.ThreadRow)
        key = ThreadKey(row.site, row.thread)
        if key in self._tables.threads:
            return False
        self._tables.threads[key] = ThreadState(
            site=row.site, thread=row.thread, seq=row.seq, locked=row.locked,
            title=row.title, url=row.url, byline=row.byline,
        )  # fmt: skip
        return True

    def _comment(self, row: a.Row) -> bool:
        assert isinstance(row, CommentRecord)
        t = self._tables
        if row.id in t.comment_thread:
            return False
        t.comments.setdefault(row.key, {})[row.id] = row
        t.comment_thread[row.id] = row.key
        return True

    def _event(self, row: a.Row) -> bool:
        assert isinstance(row, a.EventRow)
        t = self._tables
        key = ThreadKey(row.site, row.thread)
        if (key, row.seq) in t.positions:
            return False
        if row.position != len(t.log) + 1:
            raise StoreError(
                f"event {key}#{row.seq} at position {row.position}: the log's next is "
                f"{len(t.log) + 1}"
            )
        event = MemoryEvent(
            row.seq, msgspec.convert(row.type, EventType), row.comment_id, row.payload
        )
        insort(t.events.setdefault(key, []), event, key=lambda e: e.seq)
        t.log.append((key, row.seq))
        t.positions[(key, row.seq)] = row.position
        return True

    def _answer(self, row: a.Row) -> bool:
        assert isinstance(row, a.AnswerRow)
        if (row.site, row.key) in self._tables.answers:
            return False
        fields = msgspec.structs.asdict(row)
        del fields["site"]
        self._tables.answers[(row.site, row.key)] = IdempotentAnswer(**fields)
        return True

    def _cursor(self, row: a.Row) -> bool:
        assert isinstance(row, a.CursorRow)
        if row.name in self._tables.cursors:
            return False
        self._tables.cursors[row.name] = (row.position, row.owner, row.lease_until)
        return True

    def _webhook(self, row: a.Row) -> bool:
        assert isinstance(row, a.WebhookRow)
        if row.id in self._tables.webhooks:
            return False
        self._need_site(row.site)
        events = msgspec.json.decode(row.events, type=tuple[str, ...])
        self._tables.webhooks[row.id] = Webhook(
            id=row.id, site=row.site, url=row.url, secret=row.secret, events=events
        )
        return True

    def _delivery(self, row: a.Row) -> bool:
        assert isinstance(row, Delivery)
        if row.id in self._tables.deliveries:
            return False
        if row.webhook_id not in self._tables.webhooks:
            raise StoreError(f"no webhook {row.webhook_id!r} for delivery {row.id!r}")
        self._tables.deliveries[row.id] = row
        return True

    def _notified(self, row: a.Row) -> bool:
        assert isinstance(row, a.NotifiedRow)
        key = (row.reply_id, row.recipient)
        if key in self._tables.notified:
            return False
        self._tables.notified.add(key)
        return True

    def _secret(self, row: a.Row) -> bool:
        assert isinstance(row, a.SecretRow)
        if row.name in self._tables.secrets:
            return False
        self._tables.secrets[row.name] = row.value
        return True

    def _address(self, row: a.Row) -> bool:
        assert isinstance(row, a.AddressRow)
        t = self._tables
        if row.key in t.addresses:
            return False
        t.addresses[row.key] = AddressState(
            key=row.key, requested_at=row.requested_at, confirmed_at=row.confirmed_at
        )
        if row.site is not None:
            t.address_sites[row.key] = row.site
        return True

    def _sign_in(self, row: a.Row) -> bool:
        assert isinstance(row, a.SignInRow)
        if row.site in self._tables.sign_ins:
            return False
        self._need_site(row.site)
        fields = msgspec.structs.asdict(row)
        fields["roles"] = msgspec.json.decode(row.roles)
        self._tables.sign_ins[row.site] = msgspec.convert(fields, SignIn)
        return True

    def _account(self, row: a.Row) -> bool:
        assert isinstance(row, a.AccountRow)
        t = self._tables
        if (row.site, row.id) in t.accounts:
            return False
        self._need_site(row.site)
        account = Account(
            site=row.site, id=row.id, name=row.name, email=row.email, avatar=row.avatar,
            roles=msgspec.json.decode(row.roles, type=tuple[str, ...]),
        )  # fmt: skip
        t.accounts[(row.site, row.id)] = SeenAccount(
            account, row.skeleton, row.first_seen, row.last_seen
        )
        t.skeletons.setdefault((row.site, row.skeleton), set()).add(row.id)
        return True

    def _report(self, row: a.Row) -> bool:
        assert isinstance(row, Report)
        t = self._tables
        if (row.comment_id, row.reporter) in t.reports:
            return False
        if row.comment_id not in t.comment_thread:
            raise StoreError(f"no comment {row.comment_id!r} for a report")
        t.reports[(row.comment_id, row.reporter)] = row
        return True

    def _audit(self, row: a.Row) -> bool:
        assert isinstance(row, AuditEntry)
        if row.id in self._tables.audit:
            return False
        # Kept with its id, as the SQL stores keep it; later entries' ids follow the largest.
        self._tables.keep_audit(row)
        return True

    def _ban(self, row: a.Row) -> bool:
        assert isinstance(row, Ban)
        t = self._tables
        if row.id in t.bans:
            return False
        if (row.site, row.key, row.value) in t.ban_ids:
            raise StoreError(f"another ban on {row.key} {row.value!r} of site {row.site!r}")
        # Kept with its id, as the SQL stores keep it; later bans' ids follow the largest.
        t.keep_ban(row)
        return True

    def _reaction(self, row: a.Row) -> bool:
        assert isinstance(row, a.ReactionRow)
        key = (row.comment_id, row.reader, msgspec.convert(row.kind, ReactionKind))
        if key in self._tables.reactions:
            return False
        self._tables.reactions[key] = ThreadKey(row.site, row.thread)
        return True

    def _reaction_count(self, row: a.Row) -> bool:
        assert isinstance(row, a.ReactionCountRow)
        key = (row.comment_id, msgspec.convert(row.kind, ReactionKind))
        if key in self._tables.reaction_counts:
            return False
        self._tables.reaction_counts[key] = row.n
        return True

    def _reaction_version(self, row: a.Row) -> bool:
        assert isinstance(row, a.ReactionVersionRow)
        t = self._tables
        if row.comment_id in t.reaction_versions:
            return False
        key = ThreadKey(row.site, row.thread)
        t.reaction_versions[row.comment_id] = (key, row.version)
        t.reacted.setdefault(key, set()).add(row.comment_id)
        return True


def memory_archive(store: Storage) -> MemoryArchive:
    """The archive of an in-memory store built by `memory_storage` (the tables its database
    holds, which every in-memory port shares)."""
    database = store.database
    if not isinstance(database, MemoryDatabase):
        raise StoreError("not an in-memory store")
    return MemoryArchive(database.tables)
