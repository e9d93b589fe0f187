"""The confirm page of reply-mail double opt-in (see workers/notifications/confirmations.py).

`GET /confirm?e=KEY&t=TOKEN` only shows a page with a button: link scanners and mail previews
fetch links, and must not confirm an address for anyone. The button POSTs `e` and `t` (form
fields; the query string's when the form has none) and the POST confirms the address. A `e` or
`t` that no link of ours could hold (missing, not 64 hex digits, not ASCII) answers 400; a
well-formed token that does not match answers 403. The token is the only authority, so there is
no Origin check, and both answers are pages, never a 500.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.storage import Storage
from server.tokens import UNSUBSCRIBE_SECRET
from server.web.forms import link_fields
from server.web.pages import PAGE_HEADERS, templates
from workers.notifications.confirmations import confirm_token_matches

# Both the key and the token are hex HMAC-SHA256s.
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class Confirm:
    store: Storage
    # The configured signing secret; None means the one kept in the database.
    secret: str | None = None
    clock: Callable[[], float] = field(default=time.time)

    def routes(self) -> list[BaseRoute]:
        return [Route("/confirm", self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        key, token = await link_fields(request, "e", "t")
        if not (_HEX.fullmatch(key) and _HEX.fullmatch(token)):
            return self._render(request, "malformed", status=400)
        secret = self.secret or await self.store.secrets.get(UNSUBSCRIBE_SECRET)
        if not confirm_token_matches(secret, key, token):
            return self._render(request, "forbidden", status=403)
        if request.method == "GET":
            return self._render(request, "ask", key=key, token=token)
        await self.store.addresses.confirm(key, self.clock())
        return self._render(request, "done")

    def _render(
        self, request: Request, state: str, *, key: str = "", token: str = "", status: int = 200
    ) -> Response:
        context = {"state": state, "key": key, "token": token}
        headers = {**PAGE_HEADERS, "Cache-Control": "no-store"}
        return templates().TemplateResponse(
            request, "confirm.html", context, status_code=status, headers=headers
        )
