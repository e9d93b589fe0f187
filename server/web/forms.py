"""The small urlencoded forms of our own pages (unsubscribe, confirm): a button's two fields."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

# A form of two short fields; anything longer is not ours.
MAX_FORM_BYTES = 4096


async def small_form(request: Request) -> dict[str, str]:
    """The urlencoded form's first value per field (empty for anything else or too long)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # more fields than our two-field forms: not ours (was a 500)
        return {}
    return {name: values[0] for name, values in parsed.items() if values}


async def link_fields(request: Request, *names: str) -> list[str]:
    """The named fields of one of our mailed links: from its query, overridden on POST by the
    form's (the page's button posts both; RFC 8058 one-click may post only its own field)."""
    values = {name: request.query_params.get(name, "") for name in names}
    if request.method == "POST":
        form = await small_form(request)
        values.update({name: form[name] for name in names if name in form})
    return [values[name] for name in names]
