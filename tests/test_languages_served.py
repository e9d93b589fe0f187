"""The widget's language files: each server/web/static/lang/XX.js served like embed.js, at a
stable URL and at the versioned one that embed.js asks for."""

from __future__ import annotations

import httpx

from server.web.languages import version_of
from server.web.pages import STATIC
from server.web.script import MEDIA_TYPE, STABLE_CACHE, VERSIONED_CACHE

LANGUAGES = ["ar", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr"]


def version(lang: str) -> str:
    """The version the server gives the language files: one for all of them."""
    return version_of(sorted((STATIC / "lang").glob("*.js")))


async def test_arabic_file_answers_with_javascript_and_a_cache_header(
    http: httpx.AsyncClient,
) -> None:
    """GET /lang/ar.js answers 200 with the Arabic table as UTF-8 JavaScript, briefly cached."""
    answer = await http.get("/lang/ar.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == MEDIA_TYPE
    assert answer.headers["cache-control"] == STABLE_CACHE
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "livethreadLang" in answer.text
    assert "تعليقات" in answer.text


async def test_every_language_at_the_versioned_url_embed_js_asks_for(
    http: httpx.AsyncClient,
) -> None:
    """Each language's versioned URL, which embed.js carries, is cached for a year."""
    embed = (STATIC / "embed.js").read_text()
    for lang in LANGUAGES:
        tag = version(lang)
        assert f'"{tag}"' in embed, lang
        answer = await http.get(f"/lang/{lang}.{tag}.js")
        assert answer.status_code == 200, lang
        assert answer.headers["cache-control"] == VERSIONED_CACHE
        assert answer.content == (STATIC / "lang" / f"{lang}.js").read_bytes()


async def test_a_stale_version_is_sent_to_the_current_one_and_unknown_languages_are_not_found(
    http: httpx.AsyncClient,
) -> None:
    """An old version redirects to the current file; a language not built is a 404."""
    answer = await http.get("/lang/pl.000000000000.js")
    assert answer.status_code == 302
    assert answer.headers["location"] == f"/lang/pl.{version('pl')}.js"
    assert (await http.get("/lang/en.js")).status_code == 404
    assert (await http.get("/lang/xx.js")).status_code == 404
    assert sorted(path.stem for path in (STATIC / "lang").glob("*.js")) == LANGUAGES
