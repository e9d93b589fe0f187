"""The unsubscribe page of reply-notification mails (see workers/notifications/worker.py).

`GET /unsubscribe?c=ID&t=TOKEN` only shows a confirmation page with a button: link scanners
and mail previews fetch links, and must not unsubscribe anyone. The button POSTs `c` and `t`
(form fields; the query string's are used when the form has none, which is how RFC 8058
one-click unsubscribe from a mail client arrives), and the POST turns the comment's reply mails
off. The token (an HMAC of the comment id) is the only authority, so no Origin check. A `c` or
`t` that no link of ours could hold (missing, too long, not an id or not hex) answers 400; a
well-formed token that does not match answers 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.storage import Storage
from server.tokens import UNSUBSCRIBE_SECRET, unsubscribe_token_matches
from server.web.forms import link_fields
from server.web.pages import PAGE_HEADERS, templates

# What a link we sent can hold: a comment id (the API's id alphabet) and a hex HMAC-SHA256.
# Anything else was never a link of ours, so it is refused before any secret is read.
_COMMENT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_TOKEN = re.compile(r"[0-9a-fA-F]{64}")


@dataclass
class Unsubscribe:
    store: Storage
    # The configured signing secret; None means the one kept in the database.
    secret: str | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route("/unsubscribe", self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        comment_id, token = await link_fields(request, "c", "t")
        if not (_COMMENT_ID.fullmatch(comment_id) and _TOKEN.fullmatch(token)):
            return self._render(request, "malformed", "", "", status=400)
        if not await self._valid(comment_id, token):
            return self._render(request, "forbidden", comment_id, token, status=403)
        if request.method == "GET":
            return self._render(request, "confirm", comment_id, token)
        await self.store.subscriptions.unsubscribe(comment_id)
        return self._render(request, "done", comment_id, token)

    async def _valid(self, comment_id: str, token: str) -> bool:
        secret = self.secret or await self.store.secrets.get(UNSUBSCRIBE_SECRET)
        return unsubscribe_token_matches(secret, comment_id, token)

    def _render(
        self, request: Request, state: str, comment_id: str, token: str, status: int = 200
    ) -> Response:
        context = {"state": state, "comment_id": comment_id, "token": token}
        headers = {**PAGE_HEADERS, "Cache-Control": "no-store"}
        return templates().TemplateResponse(
            request, "unsubscribe.html", context, status_code=status, headers=headers
        )
