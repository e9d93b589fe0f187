"""The unsubscribe page of reply-notification mails (see workers/notifications.py).

`GET /unsubscribe?c=ID&t=TOKEN` only shows a confirmation page with a button: link scanners
and mail previews fetch links, and must not unsubscribe anyone. The button POSTs `c` and `t`
(form fields; the query string's are used when the form has none, which is how RFC 8058
one-click unsubscribe from a mail client arrives), and the POST turns the comment's reply mails
off. The token (an HMAC of the comment id) is the only authority, so no Origin check.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.ports import Store
from server.tokens import UNSUBSCRIBE_SECRET, unsubscribe_token_matches
from server.web.pages import PAGE_HEADERS, TEMPLATES

# A form of two short fields; anything longer is not ours.
_MAX_FORM_BYTES = 4096


@dataclass
class Unsubscribe:
    store: Store
    # The configured signing secret; None means the one kept in the database.
    secret: str | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route("/unsubscribe", self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        comment_id = request.query_params.get("c", "")
        token = request.query_params.get("t", "")
        if request.method == "POST":
            form = await _form(request)
            comment_id = form.get("c", comment_id)
            token = form.get("t", token)
        if not await self._valid(comment_id, token):
            return self._render(request, "forbidden", comment_id, token, status=403)
        if request.method == "GET":
            return self._render(request, "confirm", comment_id, token)
        await self.store.unsubscribe(comment_id)
        return self._render(request, "done", comment_id, token)

    async def _valid(self, comment_id: str, token: str) -> bool:
        if not comment_id or not token or len(comment_id) > 64 or len(token) > 128:
            return False
        secret = self.secret or await self.store.secret(UNSUBSCRIBE_SECRET)
        return unsubscribe_token_matches(secret, comment_id, token)

    def _render(
        self, request: Request, state: str, comment_id: str, token: str, status: int = 200
    ) -> Response:
        context = {"state": state, "comment_id": comment_id, "token": token}
        headers = {**PAGE_HEADERS, "Cache-Control": "no-store"}
        return TEMPLATES.TemplateResponse(
            request, "unsubscribe.html", context, status_code=status, headers=headers
        )


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form's first value per field (empty for anything else or too long)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in parsed.items() if values}
