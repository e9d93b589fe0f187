"""Stored XSS in a real browser: the payload corpus posted live, and raw HTML from a bad server.

The pages' own Content-Security-Policy would block inline handlers and `javascript:` links by
itself, so these tabs bypass it: what is tested here is the sanitizers alone (the server's,
then the widget's own). The CSP is test_csp.py's subject.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.async_api import Browser, Dialog, Locator, Page, Route, WebSocketRoute, expect

from server import demo
from server.render import clean_name
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    SEED_COUNT,
    item,
    moderator_token,
    open_demo,
    snapshot,
)
from tests.security.payloads import BODIES, NAMES, URLS
from tests.security.test_sanitizer import HOSTILE_URLS
from tests.support.server import Running

# Accepted by the server (an https URL with a host), yet full of quotes and markup.
ODD_WEBSITE = 'https://example.com/"onmouseover="window.__pwned=1?<script>window.__pwned=1</script>'
# Longest wait for a mocked websocket to be opened by the widget.
SOCKET_TIMEOUT = 10.0

# Runs before any page script, in every frame: the canary (any write to window.__pwned is
# recorded) and a record of alert/confirm/prompt, whatever page.on("dialog") also sees.
WATCH = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__pwned", {
    configurable: false,
    get: () => (hits.length ? hits[hits.length - 1] : undefined),
    set: (value) => { hits.push(String(value)); },
  });
  Object.defineProperty(window, "__canaryHits", { value: () => hits.slice() });
  const dialogs = [];
  for (const name of ["alert", "confirm", "prompt"]) {
    const original = window[name].bind(window);
    window[name] = (...args) => {
      dialogs.push(`${name}: ${args.join(" ")}`);
      return original(...args);
    };
  }
  Object.defineProperty(window, "__dialogs", { get: () => dialogs.slice() });
})();
"""

# Everything a stored payload could have done to the page, as a list of problems.
INSPECT = """
(href) => {
  const problems = [];
  const host = document.getElementById("livethread");
  const root = host && host.shadowRoot;
  if (!root) problems.push("the widget has no shadow root");
  const inWidget = (selector) => (root ? [...root.querySelectorAll(selector)] : []);
  const allowed = new Set(["P", "BR", "UL", "OL", "LI", "EM", "STRONG", "A", "BLOCKQUOTE", "CODE"]);
  const forbidden = "script, iframe, svg, math, img, object, embed, form, style, base, meta, "
    + "link, input, button, textarea, video, audio, source, template, noscript, details";
  // The widget's comment bodies, and the server-rendered no-JS copy under the host element.
  const bodies = [...inWidget(".lt-body"), ...document.querySelectorAll("#livethread .body")];
  for (const body of bodies) {
    for (const el of body.querySelectorAll(forbidden)) {
      problems.push(`forbidden element: ${el.outerHTML.slice(0, 120)}`);
    }
    for (const el of body.querySelectorAll("*")) {
      if (!allowed.has(el.tagName.toUpperCase())) problems.push(`not allowed: <${el.tagName}>`);
    }
    for (const a of body.querySelectorAll("a[href]")) {
      let scheme = "relative";
      try { scheme = new URL(a.getAttribute("href")).protocol; } catch {}
      if (!["http:", "https:", "mailto:"].includes(scheme)) {
        problems.push(`link: ${a.getAttribute("href")}`);
      }
    }
  }
  for (const a of inWidget("a.lt-author")) {
    let scheme = "relative";
    try { scheme = new URL(a.getAttribute("href")).protocol; } catch {}
    if (!["http:", "https:"].includes(scheme)) problems.push(`website: ${a.getAttribute("href")}`);
  }
  for (const el of [...document.querySelectorAll("*"), ...inWidget("*")]) {
    for (const attr of el.attributes) {
      if (attr.name.toLowerCase().startsWith("on")) problems.push(`${el.tagName} ${attr.name}`);
    }
  }
  const intact = {
    getElementById: typeof document.getElementById === "function",
    querySelector: typeof document.querySelector === "function",
    location: document.location === window.location && window.location instanceof Location,
    href: window.location.href === href,
    cookie: typeof document.cookie === "string",
    prototype: Object.getPrototypeOf({}) === Object.prototype
      && ({}).__proto__ === Object.prototype,
    host: host instanceof HTMLDivElement && window.livethread === host,
    named: document.getElementsByName("cookie").length === 0
      && document.getElementsByName("getElementById").length === 0
      && document.getElementsByName("__proto__").length === 0,
    collections: document.forms.length === 0 && document.images.length === 0
      && document.embeds.length === 0,
  };
  for (const [what, ok] of Object.entries(intact)) if (!ok) problems.push(`clobbered: ${what}`);
  return {
    problems,
    pwned: typeof window.__pwned,
    canary: window.__canaryHits(),
    dialogs: window.__dialogs,
    bodies: bodies.length,
  };
}
"""

CLEAN = {"problems": [], "pwned": "undefined", "canary": [], "dialogs": []}


async def watch(tab: Tab) -> list[str]:
    """Install the canary in every page of the tab; returns the list dialogs are recorded in."""
    opened: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        opened.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    tab.page.on("dialog", dismiss)
    await tab.context.add_init_script(WATCH)
    return opened


async def prove_handlers_would_run(page: Page) -> None:
    """The control: in this tab an inline handler does run (so a silent canary means something)."""
    await page.evaluate(
        """() => {
          const probe = document.createElement("div");
          probe.innerHTML = '<img src="data:," onerror="window.__control = 1">';
        }"""
    )
    await page.wait_for_function("() => window.__control === 1")


async def assert_inert(tab: Tab, dialogs: list[str], at_least: int) -> None:
    """Nothing ran, opened, loaded or got clobbered, looking at `at_least` comment bodies."""
    report: dict[str, Any] = await tab.page.evaluate(INSPECT, tab.page.url)
    bodies = report.pop("bodies")
    assert report == CLEAN
    assert bodies >= at_least
    assert dialogs == []
    assert tab.errors == []


def body_of(page: Page, comment_id: str) -> Locator:
    """A comment's own text in the widget (not its replies')."""
    return item(page, comment_id).locator("> article .lt-body")


async def open_moderator(tab: Tab, base: str, token: str) -> None:
    await tab.page.goto(f"{base}/moderate")
    await tab.page.get_by_label("Moderator token").fill(token)
    await tab.page.get_by_role("button", name="Moderate").click()
    await expect(tab.page.locator(".lt-lock")).to_have_text("Close comments")


async def test_stored_payloads_stay_inert_live_and_after_reload(
    server: Running, browser: Browser
) -> None:
    """Every body, name and website payload, posted while a reader and /moderate watch, runs
    nothing, opens no dialog, clobbers nothing, live and from the snapshot; bad websites are 422."""
    token = await moderator_token(server.settings)
    async with (
        open_tab(browser, bypass_csp=True) as reader,
        open_tab(browser, bypass_csp=True) as moderator,
    ):
        reader_dialogs, moderator_dialogs = await watch(reader), await watch(moderator)
        r, m = reader.page, moderator.page
        await open_demo(reader, server.http)
        await prove_handlers_would_run(r)
        await open_moderator(moderator, server.http, token)
        items = "li[data-id]"
        reader_before = await r.locator(items).count()
        moderator_before = await m.locator(items).count()

        async with httpx.AsyncClient(base_url=server.http, timeout=HTTP_TIMEOUT) as http:

            async def send(
                body: str, name: str = "Visitor", url: str | None = None
            ) -> httpx.Response:
                return await http.post(
                    "/api/v1/comments",
                    json={
                        "site": demo.SITE,
                        "thread": demo.THREAD,
                        "author": {"name": name, "url": url},
                        "body": body,
                    },
                )

            for url in URLS + HOSTILE_URLS:
                refused = await send("A website that must be refused", url=url)
                assert refused.status_code == 422, (url, refused.text)
                assert set(refused.json()["fields"]) == {"author.url"}, url
            created: dict[str, str] = {}
            for body in BODIES:
                answer = await send(body)
                assert answer.status_code == 201, answer.text
                created[answer.json()["comment"]["id"]] = body
            by_name: dict[str, str] = {}
            for name in NAMES:
                answer = await send("Look at my name", name=name)
                assert answer.status_code == 201, answer.text
                by_name[answer.json()["comment"]["id"]] = name
            answer = await send("Look at my website", name=NAMES[2], url=ODD_WEBSITE)
            assert answer.status_code == 201, answer.text
            odd = answer.json()["comment"]["id"]
        posted = len(created) + len(by_name) + 1
        assert (await snapshot(server.http))["count"] == SEED_COUNT + posted

        # Live: the reader is offered them all as new, the moderator gets them in place.
        fresh = r.locator(".lt-new")
        await expect(fresh).to_have_text(f"{posted} new comments")
        await fresh.click()
        await expect(r.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + posted} Comments")
        await expect(r.locator(items)).to_have_count(reader_before + posted)
        await expect(m.locator(items)).to_have_count(moderator_before + posted)

        for tab in (reader, moderator):
            p = tab.page
            first = next(iter(created))
            await expect(body_of(p, first)).to_have_text(BODIES[0])
            for comment_id, name in by_name.items():
                author = item(p, comment_id).locator("> article .lt-author")
                await expect(author).to_have_text(clean_name(name))
            website = item(p, odd).locator("> article a.lt-author")
            await expect(website).to_have_attribute("href", re.compile(r"^https://example\.com/"))
        await assert_inert(reader, reader_dialogs, at_least=posted)
        await assert_inert(moderator, moderator_dialogs, at_least=posted)

        # From the snapshot (and the server-rendered no-JS copy) rather than live frames.
        await r.reload()
        await expect(r.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + posted} Comments")
        # More top-level comments than the widget's first page holds: the rest come on asking.
        await r.locator(".lt-more").click()
        await expect(r.locator(items)).to_have_count(reader_before + posted)
        await m.reload()
        await expect(m.locator(items)).to_have_count(moderator_before + posted)
        await assert_inert(reader, reader_dialogs, at_least=2 * posted)
        await assert_inert(moderator, moderator_dialogs, at_least=posted)


# Raw HTML the server would never send: what must still come out of the widget, exactly.
SURVIVOR = (
    '<p>kept <strong>bold</strong> <em>it</em> <code>c</code> <a href="https://ok.example/" '
    'onclick="window.__pwned=1" style="color:red" id="location" name="cookie">ok</a> '
    '<a href="javascript:window.__pwned=1">bad</a><img src=x onerror="window.__pwned=1"></p>'
    '<style>p{display:none}</style><svg onload="window.__pwned=1"><text>svg</text></svg>'
    '<ul><li>one <a href="mailto:a@b.example">mail</a></li></ul>'
)
SURVIVED = (
    '<p>kept <strong>bold</strong> <em>it</em> <code>c</code> <a href="https://ok.example/" '
    'rel="nofollow ugc noopener">ok</a> <a rel="nofollow ugc noopener">bad</a></p>'
    '<ul><li>one <a href="mailto:a@b.example" rel="nofollow ugc noopener">mail</a></li></ul>'
)
EDITED = '<p>edited<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script></p>'


def raw_comment(comment_id: str, html: str, index: int) -> dict[str, Any]:
    """A comment as a compromised server might send it: raw HTML, a hostile name and website."""
    return {
        "id": comment_id,
        "parent": None,
        "status": "visible",
        "author": {"name": NAMES[index % len(NAMES)], "url": URLS[index % len(URLS)]},
        "html": html,
        "created": datetime.now(UTC).isoformat(),
    }


async def test_widget_resanitizes_raw_html_from_a_bad_server(
    server: Running, browser: Browser
) -> None:
    """Raw payload HTML in the snapshot and in live frames (as from a compromised server) is
    rebuilt by the widget's own allowlist: nothing runs, and the allowed markup survives."""
    raw = (*BODIES, SURVIVOR)
    async with open_tab(browser, bypass_csp=True) as reader:
        dialogs = await watch(reader)
        p = reader.page
        positions: list[int] = []
        seed: dict[str, dict[str, Any]] = {}

        async def poisoned_snapshot(route: Route) -> None:
            response = await route.fetch()
            data: dict[str, Any] = await response.json()
            positions.append(data["seq"])
            seed.update((c["id"], c) for c in data["comments"])
            data["comments"] += [raw_comment(f"s{i:02d}", html, i) for i, html in enumerate(raw)]
            data["count"] += len(raw)
            await route.fulfill(response=response, json=data)

        opened = asyncio.Event()
        sockets: list[WebSocketRoute] = []

        def fake_server(ws: WebSocketRoute) -> None:
            # Never connected to the real server: only what the test sends reaches the widget.
            sockets.append(ws)
            opened.set()

        await p.route(re.compile(r"/api/v1/threads\?"), poisoned_snapshot)
        await p.route_web_socket(re.compile(r"/ws/v1/threads\?"), fake_server)
        await open_demo(reader, server.http, count=SEED_COUNT + len(raw))
        await prove_handlers_would_run(p)
        await expect(body_of(p, f"s{len(BODIES):02d}")).to_have_js_property("innerHTML", SURVIVED)

        async with asyncio.timeout(SOCKET_TIMEOUT):
            await opened.wait()
        ws, seq = sockets[-1], positions[-1]
        ws.send(json.dumps({"type": "hello", "site": demo.SITE, "thread": demo.THREAD, "seq": seq}))
        frames = [
            {
                "type": "comment.created",
                "seq": seq + 1 + i,
                "comment": raw_comment(f"w{i:02d}", h, i),
            }
            for i, h in enumerate(raw)
        ]
        edited = {**seed["c1"], "html": EDITED, "edited": datetime.now(UTC).isoformat()}
        frames.append({"type": "comment.edited", "seq": seq + 1 + len(raw), "comment": edited})
        for frame in frames:
            ws.send(json.dumps(frame))

        fresh = p.locator(".lt-new")
        await expect(fresh).to_have_text(f"{len(raw)} new comments")
        await fresh.click()
        await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 2 * len(raw)} Comments")
        await expect(body_of(p, f"w{len(BODIES):02d}")).to_have_js_property("innerHTML", SURVIVED)
        await expect(body_of(p, "c1")).to_have_js_property("innerHTML", "<p>edited</p>")
        await assert_inert(reader, dialogs, at_least=2 * len(raw))
