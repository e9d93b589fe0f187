"""Double opt-in for reply mails: an address is mailed replies only once its owner confirmed it.

Anyone can post a comment with any address and "notify me", then reply to it; without this,
the publisher's server would mail that address text the poster wrote. So the first time an
address asks for reply mail, the notifications worker sends it one confirmation mail and
nothing else until the link in it is followed:

- The mail holds nothing a poster wrote: not the comment, not the name, not the thread id
  (whoever posts first names a thread). Only the site's name, which the operator chose, the
  confirm link, and "ignore this mail if it was not you".
- The link is `PUBLIC_URL/confirm?e=KEY&t=TOKEN`: KEY is the address's keyed hash (hex
  HMAC-SHA256 of the case-folded address under the signing secret of unsubscribe links), so no
  address appears in a URL or a log; TOKEN is the hex HMAC-SHA256 of "confirm:" + KEY under the
  same secret. `GET` only shows a button; the `POST` it makes confirms (server/web/confirm.py),
  so a link scanner that fetches the link confirms nothing.
- Confirmation is per address, whatever the case, for good: later comments with that address
  are mailed without asking again. The store keeps only the keyed hash, when the last
  confirmation mail went out (and for which site), and when it was confirmed.
- Limits, so the confirmation itself cannot be used to spam: at most one confirmation mail per
  address per `confirm_interval_seconds` (a day), and at most `confirm_rate_site` (20 an hour)
  per site. A comment asking past a limit simply sends none; a later one may.
- Replies handled while the address is unconfirmed are never mailed, not even after it is
  confirmed: the decision is taken when the worker handles the reply, and nothing is queued up
  for an address that never agreed to mail.

Changing the signing secret changes every key: addresses then confirm again.

The mail is written in the language of the comment that asked for it (the language its
author's request asked for, server/language), English by default.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from urllib.parse import urlencode

from server.language.supported import DEFAULT
from server.language.text import Text
from server.limits import Rate
from server.settings import Settings
from workers.notifications.ports import Addresses

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], Awaitable[None]]


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def address_key(secret: str, address: str) -> str:
    """What the store keeps of an address: its keyed hash, whatever its case."""
    return _mac(secret, "address:" + address.strip().casefold())


def confirm_token(secret: str, key: str) -> str:
    """The token of a confirm link. Prefixed, so no unsubscribe token (an HMAC of a comment id
    under the same secret) is ever a confirm token."""
    return _mac(secret, "confirm:" + key)


def confirm_token_matches(secret: str, key: str, token: str) -> bool:
    # As bytes: compare_digest raises on a str that is not ASCII, and the token is user input.
    expected = confirm_token(secret, key).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))


def confirm_url(base_url: str, secret: str, key: str) -> str:
    return f"{base_url}/confirm?{urlencode({'e': key, 't': confirm_token(secret, key)})}"


def compose_confirmation(
    *,
    recipient: str,
    site: str,
    sender: str,
    base_url: str,
    secret: str,
    message_id: str,
    policy: EmailPolicy,
    lang: str = DEFAULT,
) -> EmailMessage:
    """The confirmation mail, in `lang`: the site's name and the link, nothing anyone else
    wrote."""
    link = confirm_url(base_url, secret, address_key(secret, recipient))
    mail = EmailMessage(policy=policy)
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = Text("mail.confirm.subject", site=site).in_language(lang)
    mail["Date"] = formatdate()
    mail["Message-ID"] = message_id
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        f"{Text('mail.confirm.asked', site=site).in_language(lang)}\n"
        "\n"
        f"{Text('mail.confirm.if_you').in_language(lang)}\n"
        f"{link}\n"
        "\n"
        f"{Text('mail.confirm.if_not').in_language(lang)}\n"
    )
    # After set_content, which replaces every Content-* header.
    mail["Content-Language"] = lang
    return mail


class Confirmations:
    """The double opt-in's side of the notifications worker (see the module's docstring)."""

    def __init__(
        self,
        addresses: Addresses,
        settings: Settings,
        send: Send,
        *,
        policy: EmailPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._addresses = addresses
        self._policy = policy
        self._settings = settings
        self._send = send
        self._clock = clock
        self._site_rate = Rate.parse(settings.confirm_rate_site)
        self.sent = 0

    async def confirmed(self, secret: str, address: str) -> bool:
        state = await self._addresses.get(address_key(secret, address))
        return state is not None and state.confirmed_at is not None

    async def ask(
        self, secret: str, address: str, site: str, position: int, lang: str = DEFAULT
    ) -> bool:
        """Send `address` a confirmation mail (in `lang`, the asking comment's language) unless
        it is confirmed already or a limit says not now; whether one was sent. `position`, the
        log entry that asked, makes the Message-ID the same if this entry is handled again (a
        worker that died after the send)."""
        key = address_key(secret, address)
        state = await self._addresses.get(key)
        if state is not None and state.confirmed_at is not None:
            return False
        now = self._clock()
        interval = self._settings.confirm_interval_seconds
        last = None if state is None else state.requested_at
        if last is not None and now - last < interval:
            return False
        rate = self._site_rate
        if await self._addresses.confirmations_sent(site, now - rate.seconds) >= rate.count:
            log.warning("confirmation mails for site %s: at the limit (%s a %ss); none sent",
                        site, rate.count, rate.seconds)  # fmt: skip
            return False
        mail = compose_confirmation(
            recipient=address,
            site=site,
            sender=self._settings.mail_from,
            base_url=self._settings.base_url,
            secret=secret,
            message_id=f"<confirm-{position}.{key[:16]}@livethread>",
            policy=self._policy,
            lang=lang,
        )
        await self._send(mail)
        # Recorded after the SMTP server took it, as reply mails are.
        await self._addresses.confirmation_sent(key, site, now)
        self.sent += 1
        return True
