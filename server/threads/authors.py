"""Who may post under which name: the rules a new comment's author passes before anything is
stored (`Comments.post`).

- A signed-in reader (server/accounts) posts under their account's name, email and avatar;
  what the form said of them is not read.
- The site's policy says who may post at all: anonymous readers, signed-in ones, or both (a
  moderator, known by their token, may always).
- A name that reads as one of the site's moderators' or a reserved role's (look-alikes too,
  server/names.py) is refused unless the post carries that moderator's token; an anonymous
  name that reads as a signed-in reader's is refused too.
"""

from __future__ import annotations

import msgspec

from server.accounts.readers import Readers, SignedIn
from server.errors import Invalid, Unauthenticated
from server.language.text import Text
from server.memo import Memo
from server.model import Moderator
from server.names import impersonates
from server.sites.ports import Moderators
from server.validation import CleanComment

# Roles no anonymous poster may appear as, on any site.
RESERVED_NAMES = ("Moderator", "Admin", "Administrator", "Staff", "livethread")
# The badges a comment may carry, in the order they are shown.
BADGES = ("admin", "moderator", "staff", "author")


class Authors:
    """The checks on a new comment's author (see the module's docstring)."""

    def __init__(self, moderators: Moderators, readers: Readers | None) -> None:
        # Read by every post; `moderator add` applies within the memo's moment.
        self._moderators: Memo[str, list[Moderator]] = Memo(moderators.of_site)
        self._readers = readers

    async def checked(
        self, new: CleanComment, moderator: Moderator | None, signed_in: SignedIn | None
    ) -> CleanComment:
        """The comment as posted by its author, once they may post it (else a Refusal)."""
        if signed_in is not None:
            account = signed_in.account
            new = msgspec.structs.replace(
                new,
                name=account.name,
                email=account.email,
                url=None,
                notify=new.notify and account.email is not None,
            )
        elif self._readers is not None and moderator is None:
            if await self._readers.policy(new.site) == "accounts":
                raise Unauthenticated(Text("sign_in.required"))
            if await self._readers.name_taken(new.site, new.name):
                raise Invalid(
                    Text("name.taken"),
                    {"author.name": Text("name.taken_field")},
                )
        await self._check_name(new.name, new.site, moderator)
        return new

    def badges(
        self,
        new: CleanComment,
        moderator: Moderator | None,
        signed_in: SignedIn | None,
        byline: str,
    ) -> tuple[str, ...]:
        """What the author of `new` is on its site, as badges: a moderator token's role (and
        "author" when the moderator is the thread's byline: an operator named both), and the
        roles the account's site trusts (a publisher marks its writers with the "author" role
        itself). An anonymous name that reads as the byline is refused (Invalid)."""
        found: set[str] = set()
        named = bool(byline) and impersonates(new.name, [byline])
        if moderator is not None and moderator.site == new.site:
            found.add(moderator.role)
            if named:
                found.add("author")
        elif signed_in is not None:
            found.update(signed_in.account.roles)
        elif named:
            raise Invalid(
                Text("name.reserved"),
                {"author.name": Text("name.reserved_author")},
            )
        return tuple(badge for badge in BADGES if badge in found)

    async def _check_name(self, name: str, site: str, poster: Moderator | None) -> None:
        protected = [m.name for m in await self._moderators.get(site) or ()]
        if poster is not None and poster.site == site:
            protected = [n for n in protected if n != poster.name]
        if impersonates(name, [*protected, *RESERVED_NAMES]):
            raise Invalid(
                Text("name.reserved"),
                {"author.name": Text("name.reserved_field")},
            )
