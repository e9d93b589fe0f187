"""First paint of a long thread in Chromium, and the page under live posts (issue 17, item 3).

    python -m bench.first_paint [--comments 10000] [--loads 5] [--rate 50] [--seconds 10]

One `livethread serve` child process (SQLite in a temporary directory). A thread of `--comments`
comments (about 70% top-level, replies up to depth 3, bodies of 5 to 60 words) is written
straight through the store, then a publisher's article page embedding the widget (served on
another loopback origin, as tests/browser do) is opened `--loads` times in Debian's chromium,
each time in a fresh context (empty cache). In the page, from the start of the snapshot request
(`GET /api/v1/threads…`, resource timing), a script installed before the widget measures:

- first paint with comments: the first frame after a `li[data-id]` appears in the widget's
  shadow root (the end of that frame's rendering: a message posted from its
  requestAnimationFrame callback);
- whole thread: the same, once every comment has its `li` ("-" if that never happens within
  30 s, as with a widget that pages);
- the snapshot's fetch (request start to response end; asked for once before, for its size,
  the server has it cached: bench/first_snapshot.py measures a cold one).

Then, with one page open, `--rate` comments a second are posted through the API for `--seconds`
seconds while the bench clicks a comment's Like button every 250 ms; the page records its long
tasks (PerformanceObserver "longtask"), the drift of a 20 ms setInterval (event-loop delay) and,
for each click, the time from the click event to the end of the next frame. Prints markdown
tables: medians (and each load) of the load figures; p50, p99 and max of the live ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from server.model import ThreadKey
from server.settings import Settings
from tests.browser.conftest import CHROMIUM_ARGS, LIFECYCLE_TIMEOUT, chromium_path, open_tab
from tests.browser.demo_page import article_page, set_origins
from tests.support.clients import provision
from tests.support.seeding import WORDS, seed
from tests.support.server import serve_process

SITE, THREAD = "news", "long"
# The widget's load figures wait this long for each stage of a load.
LOAD_WAIT = 60.0
# A paged widget may never draw the whole thread: past this, the load has no "whole" figure.
FULL_WAIT = 30.0
HTTP_TIMEOUT = 10.0
CLICK_EVERY = 0.25
PROBE_MS = 20


# Installed before any of the page's scripts. The widget draws into an open shadow root, which
# a MutationObserver on the document does not see, so each root is observed as it is attached.
# The end of a frame's rendering (style, layout, paint) is when a message posted from its
# requestAnimationFrame callback arrives.
PROBE = """(() => {
  const lt = (window.__lt = { first: null, inserted: null, full: null, longtasks: [] });
  lt.expected = %d;
  lt.afterPaint = (done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(performance.now());
    channel.port2.postMessage(null);
  });
  let shown = false;
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    const seen = new MutationObserver(() => {
      if (!shown && root.querySelector("li[data-id]")) {
        shown = true;
        lt.inserted = performance.now();
        lt.afterPaint((t) => { lt.first = t; });
      }
      if (shown && root.querySelectorAll("li[data-id]").length >= lt.expected) {
        seen.disconnect();
        lt.afterPaint((t) => { lt.full = t; });
      }
    });
    seen.observe(root, { childList: true, subtree: true });
    return root;
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lt.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  // Long tasks leave out the rendering that follows them: a frame's style and layout of a long
  // thread are here.
  lt.frames = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lt.frames.push([e.startTime, e.duration]);
  }).observe({ type: "long-animation-frame", buffered: true });
})();"""

LOAD_FIGURES = """() => {
  const lt = window.__lt;
  const asked = performance.getEntriesByType("resource")
    .find((e) => e.name.includes("/api/v1/threads?"));
  if (!asked) return null;
  const since = (t) => (t === null ? null : t - asked.startTime);
  const fetch = asked.responseEnd - asked.startTime;
  return { first: since(lt.first), inserted: since(lt.inserted), full: since(lt.full), fetch };
}"""

LIVE_START = """(tick) => {
  const lt = window.__lt;
  lt.since = performance.now();
  lt.lags = [];
  lt.clicks = [];
  let last = lt.since;
  lt.probe = setInterval(() => {
    const now = performance.now();
    lt.lags.push(Math.max(0, now - last - tick));
    last = now;
  }, tick);
  window.addEventListener("click", (e) => {
    const clicked = e.timeStamp;
    lt.afterPaint((t) => lt.clicks.push(t - clicked));
  }, true);
}"""

LIVE_STOP = """() => {
  const lt = window.__lt;
  clearInterval(lt.probe);
  const after = (entries) => entries.filter(([start]) => start >= lt.since).map(([, d]) => d);
  const [longtasks, frames] = [after(lt.longtasks), after(lt.frames)];
  return { lags: lt.lags, clicks: lt.clicks, longtasks, frames };
}"""


@dataclass
class Figures:
    first: list[float] = field(default_factory=list)
    full: list[float | None] = field(default_factory=list)
    fetch: list[float] = field(default_factory=list)
    inserted: list[float] = field(default_factory=list)
    snapshot_gzip: int = 0
    snapshot_json: int = 0
    lags: list[float] = field(default_factory=list)
    clicks: list[float] = field(default_factory=list)
    longtasks: list[float] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)
    posted: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


async def snapshot_size(base: str, comments: int, figures: Figures) -> None:
    """The snapshot as the widget asks for it: bytes on the wire (gzip) and of its JSON."""
    async with httpx.AsyncClient(base_url=base, timeout=LOAD_WAIT) as http:
        answer = await http.get(
            "/api/v1/threads",
            params={"site": SITE, "thread": THREAD},
            headers={"Accept-Encoding": "gzip"},
        )
    if answer.status_code != 200 or answer.json()["count"] != comments:
        raise RuntimeError(f"snapshot answered {answer.status_code}: {answer.text[:200]}")
    figures.snapshot_gzip = answer.num_bytes_downloaded
    figures.snapshot_json = len(answer.content)


async def open_loaded(page: Page, url: str) -> dict[str, Any]:
    """Open the article and wait for the widget's first comments (and the whole thread, up to
    `FULL_WAIT`); the page's load figures, in ms from the snapshot request's start."""
    await page.goto(url, timeout=LOAD_WAIT * 1000)
    await page.wait_for_function("window.__lt.first !== null", timeout=LOAD_WAIT * 1000)
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function("window.__lt.full !== null", timeout=FULL_WAIT * 1000)
    found: dict[str, Any] | None = await page.evaluate(LOAD_FIGURES)
    if found is None:
        raise RuntimeError("the page has no resource timing for the snapshot request")
    return found


async def loads(browser: Browser, url: str, comments: int, count: int, figures: Figures) -> None:
    for n in range(count):
        async with open_tab(browser) as tab:
            await tab.page.add_init_script(script=PROBE % comments)
            got = await open_loaded(tab.page, url)
            figures.errors.extend(tab.errors)
        for name in ("first", "inserted", "full", "fetch"):
            getattr(figures, name).append(got[name])
        full = "-" if got["full"] is None else f"{got['full']:.0f}"
        log(f"load {n + 1}/{count}: first paint {got['first']:.0f} ms, whole thread {full} ms")


async def live(
    browser: Browser, url: str, base: str, comments: int, rate: float, seconds: float, f: Figures
) -> None:
    """Post at `rate` for `seconds` and click Like every `CLICK_EVERY` s, the page recording."""
    async with open_tab(browser) as tab, httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        page = tab.page
        await page.add_init_script(script=PROBE % comments)
        await open_loaded(page, url)
        like = page.locator('li[data-id="seed000000"] > article .lt-rx-like')
        await page.evaluate(LIVE_START, PROBE_MS)
        t0 = time.monotonic()
        end = t0 + seconds

        async def post(n: int) -> None:
            answer = await http.post(
                f"{base}/api/v1/comments",
                json={
                    "site": SITE,
                    "thread": THREAD,
                    "author": {"name": f"Live {n % 13}"},
                    "body": f"Live comment {n}: " + " ".join(WORDS[: 5 + n % 7]),
                },
            )
            if answer.status_code == 201:
                f.posted += 1
            else:
                f.refused += 1

        async def clicks() -> None:
            n = 0
            while time.monotonic() < end:
                # A real click where the button is, without Playwright's actionability checks
                # (which wait for frames themselves): the page's own delay is what is measured.
                box = await like.bounding_box()
                if box is None:
                    raise RuntimeError("the first comment's Like button is not on the page")
                await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                n += 1
                # Pacing the clicks, not waiting on anything.
                await asyncio.sleep(max(0.0, t0 + n * CLICK_EVERY - time.monotonic()))

        clicking = asyncio.create_task(clicks())
        posts: list[asyncio.Task[None]] = []
        for n in range(int(rate * seconds)):
            # Pacing a fixed rate.
            await asyncio.sleep(max(0.0, t0 + n / rate - time.monotonic()))
            posts.append(asyncio.create_task(post(n)))
        async with asyncio.timeout(seconds + LOAD_WAIT):
            await asyncio.gather(clicking, *posts)
        got: dict[str, list[float]] = await page.evaluate(LIVE_STOP)
        f.errors.extend(tab.errors)
    f.lags, f.clicks, f.longtasks = got["lags"], got["clicks"], got["longtasks"]
    f.frames = got["frames"]


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def measure(comments: int, count: int, rate: float, seconds: float) -> Figures:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="livethread-paint-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'paint.db'}"
        settings = Settings(database=database)
        await provision(settings)
        begun = time.monotonic()
        await seed(Settings(database=database), ThreadKey(SITE, THREAD), comments)
        log(f"{comments} comments seeded in {time.monotonic() - begun:.1f} s")
        async with (
            serve_process("--database", database) as server,
            article_page(server.http, SITE, THREAD) as url,
            async_playwright() as playwright,
        ):
            # Before the server first reads the site (it keeps what it read for a while).
            await set_origins(settings, SITE, url.rstrip("/"))
            await snapshot_size(server.http, comments, figures)
            async with asyncio.timeout(LIFECYCLE_TIMEOUT):
                browser = await playwright.chromium.launch(
                    executable_path=chromium_path(),
                    headless=True,
                    args=CHROMIUM_ARGS,
                    timeout=LIFECYCLE_TIMEOUT * 1000,
                )
            try:
                await loads(browser, url, comments, count, figures)
                if seconds > 0 and rate > 0:
                    await live(browser, url, server.http, comments, rate, seconds, figures)
            finally:
                async with asyncio.timeout(LIFECYCLE_TIMEOUT):
                    await browser.close()
    return figures


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"| {name} | - | - | - | 0 |"
    p50, p99 = statistics.median(values), quantile(values, 0.99)
    return f"| {name} | {p50:.1f} | {p99:.1f} | {max(values):.1f} | {len(values)} |"


def report(f: Figures, comments: int, rate: float, seconds: float) -> str:
    def each(values: Sequence[float | None]) -> str:
        return ", ".join("-" if v is None else f"{v:.0f}" for v in values)

    whole = [v for v in f.full if v is not None]
    median_whole = f"{statistics.median(whole):.0f}" if len(whole) == len(f.full) else "-"
    lines = [
        f"First paint of a {comments:,}-comment thread in chromium (current widget), "
        f"{len(f.first)} loads in fresh contexts; ms from the snapshot request's start. "
        f"Snapshot: {f.snapshot_gzip / 1024:,.0f} kB gzipped, {f.snapshot_json / 1024:,.0f} kB "
        "of JSON.",
        "",
        "| measure | median, ms | each load, ms |",
        "|---|---:|---|",
        f"| first paint with comments | {statistics.median(f.first):.0f} | {each(f.first)} |",
        f"| first comments in the DOM (before their layout and paint) "
        f"| {statistics.median(f.inserted):.0f} | {each(f.inserted)} |",
        f"| whole thread drawn | {median_whole} | {each(f.full)} |",
        f"| snapshot fetch (request to response end) | {statistics.median(f.fetch):.0f} "
        f"| {each(f.fetch)} |",
    ]
    if f.lags or f.clicks:
        lines += [
            "",
            f"The page open while {rate:g} comments a second were posted for {seconds:g} s "
            f"({f.posted} answered 201, {f.refused} not), Like clicked every "
            f"{CLICK_EVERY * 1000:.0f} ms:",
            "",
            "| in the page | p50, ms | p99, ms | max, ms | samples |",
            "|---|---:|---:|---:|---:|",
            spread("long task duration", f.longtasks),
            spread("long animation frame duration (task and rendering)", f.frames),
            spread(f"event-loop delay ({PROBE_MS} ms interval's drift)", f.lags),
            spread("click to the end of the next frame (Like)", f.clicks),
        ]
    if f.errors:
        lines += ["", f"Page errors: {len(f.errors)}; the first: {f.errors[0]}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.first_paint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--comments", type=int, default=10_000, help="comments in the thread")
    parser.add_argument("--loads", type=int, default=5, help="page loads measured")
    parser.add_argument("--rate", type=float, default=50.0, help="live posts a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of live posts")
    args = parser.parse_args(argv)
    if args.comments < 1 or args.loads < 1 or args.rate < 0 or args.seconds < 0:
        parser.error("--comments and --loads: at least 1; --rate and --seconds: not negative")
    figures = asyncio.run(measure(args.comments, args.loads, args.rate, args.seconds))
    print(report(figures, args.comments, args.rate, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
