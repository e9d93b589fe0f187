"""A corpus of stored-XSS payloads for the body, the name and the website field.

Each payload, if it ever ran, would set `window.__pwned` (or open a dialog), which the browser
test watches for. Sources of the shapes: the classic filter-evasion lists, mutation XSS
(markup that changes meaning when parsed twice), raw-text element breakouts, Markdown link and
image injection, and DOM clobbering.
"""

from __future__ import annotations

RUN = "window.__pwned=1"

BODIES: tuple[str, ...] = (
    f"<script>{RUN}</script>",
    f"<SCRIPT SRC=data:text/javascript,{RUN}></SCRIPT>",
    f'<img src=x onerror="{RUN}">',
    f"<img src=x onerror={RUN}//",
    f'<svg onload="{RUN}"></svg>',
    f"<svg><script>{RUN}</script></svg>",
    f'<svg><a xlink:href="javascript:{RUN}"><text x="20" y="20">x</text></a></svg>',
    "<math><mtext><table><mglyph><style>"
    f'<img src=x onerror="{RUN}"></style></mglyph></table></mtext></math>',
    f'<math><mi xlink:href="javascript:{RUN}">x</mi></math>',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<iframe srcdoc="<script>parent.{RUN}</script>"></iframe>',
    f'<object data="javascript:{RUN}"></object>',
    f'<embed src="data:text/html,<script>{RUN}</script>">',
    f'<form action="javascript:{RUN}"><button>go</button></form>',
    f'<input autofocus onfocus="{RUN}">',
    f'<details open ontoggle="{RUN}">',
    f'<body onload="{RUN}">',
    f'<a href="javascript:{RUN}">click</a>',
    f'<a href="JaVaScRiPt:{RUN}">click</a>',
    f'<a href="java&#x09;script:{RUN}">tab</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+">data</a>',
    f"[click](javascript:{RUN})",
    f"[click](JAVASCRIPT:{RUN})",
    f"[click](data:text/html,<script>{RUN}</script>)",
    f'[x](https://example.com "title" onmouseover="{RUN}")',
    f"![x](x onerror={RUN})",
    f"![x](javascript:{RUN})",
    f'<noscript><p title="</noscript><img src=x onerror={RUN}>">',
    f"<textarea></textarea><img src=x onerror={RUN}>",
    f"<title></title><img src=x onerror={RUN}>",
    f"<style></style><img src=x onerror={RUN}>",
    f"<xmp></xmp><img src=x onerror={RUN}>",
    f"<!--<img src=x onerror={RUN}>-->",
    f"<![CDATA[<img src=x onerror={RUN}>]]>",
    f'<div style="background:url(javascript:{RUN})">css</div>',
    f"<style>@import 'javascript:{RUN}';</style>",
    f'<link rel=stylesheet href="javascript:{RUN}">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    f'<base href="javascript:{RUN}//">',
    '<img name="__proto__"><form id="location"><input name="href"></form>',
    '<a id="livethread" name="cookie">clobber</a><form name="getElementById"></form>',
    f"`<img src=x onerror={RUN}>`",
    f"> <img src=x onerror={RUN}>",
    f"- <svg onload={RUN}>",
    f'<a href="https://ok.example" onclick="{RUN}">ok link, bad handler</a>',
    f"<scr<script>ipt>{RUN}</scr</script>ipt>",
    f'"><img src=x onerror={RUN}>',
    f"'><svg onload={RUN}>",
    f"<template><img src=x onerror={RUN}></template>",
    f'<video><source onerror="{RUN}"></video>',
)

NAMES: tuple[str, ...] = (
    f"<img src=x onerror={RUN}>",
    f"<script>{RUN}</script>",
    f'"><svg onload={RUN}>',
    "\u202eevil\u202c",
    "zero\u200bwidth\u2060name",
)

URLS: tuple[str, ...] = (
    f"javascript:{RUN}",
    f"JAVASCRIPT:{RUN}",
    f"data:text/html,<script>{RUN}</script>",
    f'https://example.com/"><img src=x onerror={RUN}>',
    f"vbscript:{RUN}",
)
