"""The widget in other languages, in chromium: Arabic right to left, Polish plurals, the page's
own lang attribute, and English for a language livethread does not have."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, Request, expect

from server import demo
from tests.browser.conftest import Tab
from tests.browser.demo_page import (
    LOAD_TIMEOUT_MS,
    SEED_COUNT,
    article_page,
    item,
    post,
    set_origins,
)
from tests.support.server import Running

# Marks the widget's element (or the page) as the parser inserts it: before the widget's
# async script can run. `{mark}` is the statement, with the element as `host`.
MARKING = """
new MutationObserver((_, observer) => {{
  const host = document.getElementById("livethread");
  if (host) {{
    {mark};
    observer.disconnect();
  }}
}}).observe(document, {{ childList: true, subtree: true }});
"""

# A language file's URL as embed.js asks for it: versioned, so cached for a year.
VERSIONED = re.compile(r"/lang/([a-z]{2})\.[0-9a-f]{12}\.js$")
ARABIC = re.compile(r"[\u0600-\u06ff]")


def language_requests(page: Page) -> list[str]:
    """Every language file the page asks for, from now on, by URL."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if "/lang/" in request.url:
            seen.append(request.url)

    page.on("request", on_request)
    return seen


async def open_marked(tab: Tab, base: str, mark: str, heading: str) -> list[str]:
    """Open the demo article with `mark` run on the widget's element; wait for `heading`.
    Returns the language files asked for."""
    await tab.page.add_init_script(MARKING.format(mark=mark))
    requested = language_requests(tab.page)
    await tab.page.goto(f"{base}/")
    await tab.page.locator("#livethread").scroll_into_view_if_needed()
    await expect(tab.page.locator("#lt-heading")).to_have_text(heading, timeout=LOAD_TIMEOUT_MS)
    return requested


@asynccontextmanager
async def publisher_page(server: Running, extra: str) -> AsyncIterator[str]:
    """An article on another origin, which the demo site lists, embedding the demo thread."""
    async with article_page(server.http, demo.SITE, demo.THREAD, extra=extra) as url:
        await set_origins(server.settings, demo.SITE, url.rstrip("/"))
        yield url


async def test_arabic_page_reads_right_to_left(server: Running, page: Tab, artifacts: Path) -> None:
    """data-lang="ar": Arabic heading, form and times, dir=rtl, replies indented on the right."""
    p = page.page
    # The seed's count takes Arabic's "many" form (11-99), and Polish's "few" (below).
    assert SEED_COUNT == 24
    requested = await open_marked(page, server.http, 'host.dataset.lang = "ar"', "24 تعليقًا")
    section = p.locator('section[aria-labelledby="lt-heading"]')
    await expect(section).to_have_attribute("dir", "rtl")
    await expect(section).to_have_attribute("lang", "ar")
    form = p.get_by_role("form", name="اترك ردًا", exact=True)
    await expect(form.get_by_label("التعليق", exact=True)).to_be_visible()
    await expect(form.get_by_label("الاسم", exact=True)).to_be_visible()
    await expect(form.get_by_role("button", name="نشر التعليق")).to_be_visible()
    # c2 answers c1: in Arabic its indent, and the thread's line, are on the right.
    parent = await item(p, "c1").locator("> article").bounding_box()
    reply = await item(p, "c2").locator("> article").bounding_box()
    assert parent is not None and reply is not None
    assert reply["x"] + reply["width"] < parent["x"] + parent["width"] - 10, (reply, parent)
    assert abs(reply["x"] - parent["x"]) < 1, (reply, parent)
    when = await item(p, "c1").locator("> article time").text_content()
    assert when and ARABIC.search(when) and not re.search(r"[A-Za-z]", when), when
    assert len(requested) == 1 and (found := VERSIONED.search(requested[0])), requested
    assert found.group(1) == "ar"
    await p.locator("#livethread").screenshot(path=artifacts / "widget-ar.png")
    assert page.errors == []


async def test_polish_heading_takes_the_plural_form_of_its_count(
    server: Running, page: Tab
) -> None:
    """On a publisher's Polish page: "24 komentarze", a new one offered as "1 nowy komentarz",
    then "25 komentarzy"."""
    p = page.page
    async with publisher_page(server, ' data-lang="pl"') as url:
        await p.goto(url)
        heading = p.locator("#lt-heading")
        await expect(heading).to_have_text("24 komentarze", timeout=LOAD_TIMEOUT_MS)
        await post(server.http, "Dzień dobry!", "Ola")
        fresh = p.locator(".lt-new")
        await expect(fresh).to_have_text("1 nowy komentarz")
        await fresh.click()
        await expect(heading).to_have_text("25 komentarzy")
        form = p.get_by_role("form", name="Dodaj komentarz", exact=True)
        await expect(form.get_by_role("button", name="Opublikuj komentarz")).to_be_visible()
    assert page.errors == []


async def test_page_lang_pt_br_gets_portuguese(server: Running, page: Tab) -> None:
    """A page whose <html lang> is "pt-BR" (and no data-lang) gets the Portuguese widget."""
    p = page.page
    mark = 'document.documentElement.lang = "pt-BR"'
    requested = await open_marked(page, server.http, mark, "24 comentários")
    section = p.locator('section[aria-labelledby="lt-heading"]')
    await expect(section).to_have_attribute("lang", "pt")
    await expect(section).to_have_attribute("dir", "ltr")
    form = p.get_by_role("form", name="Deixe uma resposta", exact=True)
    await expect(form.get_by_role("button", name="Publicar comentário")).to_be_visible()
    assert len(requested) == 1 and (found := VERSIONED.search(requested[0])), requested
    assert found.group(1) == "pt"
    assert page.errors == []


async def test_unknown_language_gets_english_without_a_request(server: Running, page: Tab) -> None:
    """data-lang="xx": English, left to right, and no language file asked for."""
    p = page.page
    requested = await open_marked(page, server.http, 'host.dataset.lang = "xx"', "24 Comments")
    section = p.locator('section[aria-labelledby="lt-heading"]')
    await expect(section).to_have_attribute("lang", "en")
    await expect(section).to_have_attribute("dir", "ltr")
    await expect(p.get_by_role("form", name="Leave a reply", exact=True)).to_be_visible()
    assert requested == []
    assert page.errors == []
