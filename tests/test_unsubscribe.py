"""The unsubscribe page (issue 13 item 5) over real HTTP: malformed `c` and `t` (non-ASCII, too
long, missing, not hex) answer a 400 page, a well-formed token that does not match a 403 page,
and no query string or form, however odd, answers 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.settings import Settings
from server.tokens import unsubscribe_token
from tests.support.clients import WAIT
from tests.support.server import Running, serve

NOT_VALID = "This link is not valid"
FIELD_TEXT = st.text(max_size=80) | st.sampled_from(["abc", "é", "0" * 64, "\u00e9" * 64, ""])


@pytest.mark.parametrize(
    ("c", "t"),
    [
        ("abc", "\u00e9"),  # the case: `t=%C3%A9`
        ("\u00e9", "0" * 64),
        ("abc", "\u00e9" * 64),  # the right length, not hex
        ("abc", "\U0001f600" * 16),  # 64 bytes of UTF-8, not ASCII
        ("a\x00b", "0" * 64),
        ("abc", ""),
        ("", "0" * 64),
        ("abc", "0" * 65),
        ("x" * 65, "0" * 64),
    ],
)
async def test_malformed_links_answer_400_on_get_and_post(
    http: httpx.AsyncClient, c: str, t: str
) -> None:
    """Non-ASCII, empty, overlong or non-hex `c`/`t` answer the 400 "not valid" page by GET,
    by POSTed form and by POST with the query string (one-click unsubscribe), never a 500."""
    answers = [
        await http.get("/unsubscribe", params={"c": c, "t": t}),
        await http.post("/unsubscribe", data={"c": c, "t": t}),
        await http.post("/unsubscribe", params={"c": c, "t": t}),
    ]
    for answer in answers:
        assert answer.status_code == 400, (answer.request.method, answer.text[:200])
        assert answer.headers["content-type"].startswith("text/html")
        assert NOT_VALID in answer.text
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


async def test_a_raw_non_utf8_query_answers_400(server: Running) -> None:
    """Percent-escapes that are not UTF-8 (`%FF`) in the query or the form answer 400 too."""
    async with httpx.AsyncClient(timeout=WAIT) as http:
        url = f"{server.http}/unsubscribe?c=abc&t=%FF%C3"
        assert (await http.get(url)).status_code == 400
        form = {"content-type": "application/x-www-form-urlencoded"}
        posted = await http.post(
            f"{server.http}/unsubscribe", content=b"c=%FF&t=\xff", headers=form
        )
        assert posted.status_code == 400


async def test_a_well_formed_token_that_does_not_match_is_still_403(
    http: httpx.AsyncClient,
) -> None:
    """The 400 is only for input no link of ours holds: a hex token of the right length that
    is not the comment's HMAC answers 403, as before."""
    forged = unsubscribe_token("not the secret", "abc")
    assert (await http.get("/unsubscribe", params={"c": "abc", "t": forged})).status_code == 403
    assert (await http.post("/unsubscribe", data={"c": "abc", "t": forged})).status_code == 403


# -- no input gives a 5xx -------------------------------------------------------------------


@pytest.fixture
async def plain(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A server and a client for a whole hypothesis run (no sites needed: the page reads none)."""
    async with (
        serve(settings.replace(demo=False)) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as client,
    ):
        yield client


FIELDS = st.dictionaries(st.sampled_from(["c", "t"]) | st.text(max_size=4), FIELD_TEXT, max_size=4)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=FIELDS,
    form=FIELDS | st.binary(max_size=200),
    method=st.sampled_from(["GET", "POST"]),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", ""]
    ),
)
async def test_no_query_or_form_gives_a_5xx(
    plain: httpx.AsyncClient,
    query: dict[str, str],
    form: dict[str, str] | bytes,
    method: str,
    content_type: str,
) -> None:
    """Whatever the query string, form body and content type, /unsubscribe answers 400 or 403
    (it can never be 200: no comment exists to match), with an HTML page."""
    content = httpx.QueryParams(form).__str__().encode() if isinstance(form, dict) else form
    headers = {"content-type": content_type} if content_type else {}
    answer = await plain.request(
        method,
        "/unsubscribe",
        params=query,
        content=content if method == "POST" else None,
        headers=headers,
    )
    assert answer.status_code in {400, 403}, (answer.status_code, answer.text[:200])
    assert NOT_VALID in answer.text
