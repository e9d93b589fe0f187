"""/admin over real HTTP: who may sign in, how a session ends, and CSRF refusals."""

from __future__ import annotations

import time

from server.model import Site
from server.settings import Settings
from server.storage import Storage
from server.tokens import new_token, token_hash
from server.web.admin_session import COOKIE, Session, Sessions
from tests.support.admin import admin_client, admin_token, csrf_of, in_store
from tests.support.clients import Tokens
from tests.support.server import Running


async def test_an_admin_signs_in_and_gets_a_strict_session_cookie(
    server: Running, settings: Settings
) -> None:
    """An admin token signs in: the cookie is HttpOnly, SameSite=Strict, on /admin, 12 h, not
    Secure over http; the page names the admin and their site and says no-store."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        answer = await admin.sign_in(token)
        assert answer.status_code == 303, answer.text
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for part in ("HttpOnly", "SameSite=strict", "Path=/admin", "Max-Age=43200"):
            assert part.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()
        assert token not in cookie
        page = await admin.page()
        assert page.status_code == 200
        assert "Signed in as <strong>Ada</strong>, admin of <strong>news</strong>" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_the_cookie_is_secure_when_the_proxy_says_https(
    server: Running, settings: Settings
) -> None:
    """Behind a trusted proxy that saw https (X-Forwarded-Proto), both the sign-in form's and
    the signed-in session's cookies are Secure."""
    token = await admin_token(settings)
    https = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{server.port}"}
    async with admin_client(server.http) as admin:
        form = await admin.http.get("/admin", headers=https)
        assert "secure" in form.headers["set-cookie"].lower()
        # The client talks plain http to the test server, so it would not send a Secure cookie.
        visitor = form.headers["set-cookie"].split(";")[0]
        answer = await admin.http.post(
            "/admin/sign-in",
            data={"token": token, "csrf": csrf_of(form.text)},
            headers={**https, "Cookie": visitor},
        )
        assert answer.status_code == 303, answer.text
        assert "secure" in answer.headers["set-cookie"].lower()


async def test_a_moderator_token_and_a_wrong_token_are_refused(
    server: Running, tokens: Tokens
) -> None:
    """A plain moderator's token is refused (403, saying why); an unknown one 401; neither gets
    a signed-in page."""
    async with admin_client(server.http) as admin:
        answer = await admin.sign_in(tokens.news)
        assert answer.status_code == 403
        assert "a moderator&#39;s token (Lisa West of news), not a site admin&#39;s" in answer.text
        wrong = await admin.post("/admin/sign-in", {"token": new_token()})
        assert wrong.status_code == 401
        assert "not a valid one" in wrong.text
        page = await admin.page()
        assert "Signed in as" not in page.text
        assert 'name="token"' in page.text


async def test_revoking_or_rotating_the_token_ends_the_session(
    server: Running, settings: Settings
) -> None:
    """Once the admin's token is rotated, the next request (a page or a form) finds the
    session ended, and the form changes nothing."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        await admin.sign_in(token)
        await admin.page()

        async def rotate(store: Storage) -> None:
            from server.model import Moderator

            ada = Moderator(name="Ada", site="news", role="admin")
            await store.moderators.put(ada, token_hash(new_token()))

        await in_store(settings, rotate)
        post = await admin.post("/admin/site", {"origins": "https://evil.example"})
        assert post.status_code == 401
        assert "Your session has ended" in post.text
        site = await in_store(settings, lambda store: store.sites.get("news"))
        assert site is not None and site.origins == ("https://news.example",)
        page = await admin.page()
        assert page.status_code in (200, 401)
        assert "Signed in as" not in page.text


async def test_a_revoked_admin_is_signed_out(server: Running, settings: Settings) -> None:
    """Revoking the admin (their moderator entry deleted) ends the session at once."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        await admin.sign_in(token)
        assert "Signed in as" in (await admin.page()).text
        await in_store(settings, lambda store: store.moderators.remove("news", "Ada"))
        page = await admin.page()
        assert page.status_code == 401
        assert "Your session has ended" in page.text


async def test_an_expired_or_forged_session_is_not_honoured(
    server: Running, settings: Settings
) -> None:
    """A session sealed with the deployment's key works until it expires; an expired one, or
    one whose signature was changed, gets the sign-in page."""
    token = await admin_token(settings)

    async def sealed(expires: float) -> str:
        async def seal(store: Storage) -> str:
            sessions = Sessions(store, settings.secret)
            session = Session(
                sid="s", expires=expires, site="news", name="Ada", token_hash=token_hash(token)
            )
            return await sessions.seal(session)

        return await in_store(settings, seal)

    fresh, expired = await sealed(time.time() + 60), await sealed(time.time() - 1)
    forged = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
    async with admin_client(server.http) as admin:
        for value, signed_in in ((fresh, True), (expired, False), (forged, False)):
            admin.http.cookies.clear()
            admin.http.cookies.set(COOKIE, value, path="/admin")
            page = await admin.page()
            assert ("Signed in as" in page.text) is signed_in, value


async def test_a_post_without_the_csrf_token_or_from_elsewhere_is_refused(
    server: Running, settings: Settings
) -> None:
    """A form POSTed without its CSRF token, with a wrong one, with another session's, from
    another origin or with no Origin answers 403 and changes nothing."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin, admin_client(server.http) as other:
        await admin.sign_in(token)
        await admin.page()
        await other.page()
        good = admin.csrf
        cases: list[tuple[dict[str, str], dict[str, str]]] = [
            ({}, {}),
            ({"csrf": "0" * 64}, {}),
            ({"csrf": other.csrf}, {}),
            ({"csrf": good}, {"Origin": "https://evil.example"}),
            ({"csrf": good}, {"Origin": "null"}),
        ]
        for fields, headers in cases:
            answer = await admin.http.post(
                "/admin/site",
                data={"origins": "https://evil.example", "premoderate": "on", **fields},
                headers=headers,
            )
            assert answer.status_code == 403, (fields, headers)
            assert "Nothing was changed" in answer.text
        del admin.http.headers["Origin"]
        answer = await admin.http.post(
            "/admin/site", data={"origins": "https://evil.example", "csrf": good}
        )
        assert answer.status_code == 403
        site = await in_store(settings, lambda store: store.sites.get("news"))
        assert site == Site(name="news", origins=("https://news.example",))


async def test_sign_in_itself_needs_the_forms_csrf_token(
    server: Running, settings: Settings
) -> None:
    """The sign-in form is CSRF-protected too: without the visitor session's token, 403."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        answer = await admin.http.post("/admin/sign-in", data={"token": token})
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers


async def test_sign_out_ends_the_session(server: Running, settings: Settings) -> None:
    """Signing out clears the cookie: the next page is the sign-in form."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        await admin.sign_in(token)
        await admin.page()
        answer = await admin.post("/admin/sign-out", {})
        assert answer.status_code == 303
        page = await admin.page()
        assert "Signed in as" not in page.text
