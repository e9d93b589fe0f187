// Live comment counts for index pages: `<span data-livethread-count="THREAD">` + this script.
// Every such element shows its thread's visible comments: filled from GET /api/v1/counts (one
// request per PER_REQUEST threads), then kept live over WS /ws/v1/counts (one socket per site
// and PER_SOCKET threads). The site is the element's data-site, else the script tag's.

import { delay } from "./backoff.js";

/** Most threads one GET /api/v1/counts takes (MAX_COUNT_THREADS, server/web/api.py). */
export const PER_REQUEST = 100;
/** Most threads one counts socket watches (MAX_THREADS, server/web/counts_socket.py). */
export const PER_SOCKET = 200;
// The server refused the socket's parameters (an unknown site, a bad id): asking again would
// be refused again.
const REFUSED = 1008;

/**
 * Each site's threads, each once, in the order first met.
 * @param {Iterable<{ site: string, thread: string }>} found
 * @returns {Map<string, string[]>}
 */
export function bySite(found) {
  /** @type {Map<string, Set<string>>} */
  const sites = new Map();
  for (const { site, thread } of found) {
    if (!site || !thread) continue;
    const threads = sites.get(site) || new Set();
    sites.set(site, threads.add(thread));
  }
  return new Map([...sites].map(([site, threads]) => [site, [...threads]]));
}

/**
 * `list` cut into runs of at most `size`.
 * @template T
 * @param {T[]} list
 * @param {number} size
 * @returns {T[][]}
 */
export function chunks(list, size) {
  const runs = [];
  for (let i = 0; i < list.length; i += size) runs.push(list.slice(i, i + size));
  return runs;
}

/**
 * `base + path` asking for `threads` of `site` (`?site=S&thread=A&thread=B…`).
 * @param {string} base
 * @param {string} path
 * @param {string} site
 * @param {string[]} threads
 */
export function address(base, path, site, threads) {
  const query = new URLSearchParams({ site });
  for (const thread of threads) query.append("thread", thread);
  return `${base}${path}?${query}`;
}

/** @param {HTMLScriptElement | null} script */
function start(script) {
  // The server that served this script is the one to ask (as the widget's embed.js does).
  const base = script && script.src ? new URL(script.src).origin : location.origin;
  const fallback = (script && script.dataset.site) || "";
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  /** @type {Map<string, HTMLElement[]>} by site, a newline, thread */
  const shown = new Map();
  const found = [];
  for (const element of document.querySelectorAll("[data-livethread-count]")) {
    if (!(element instanceof HTMLElement)) continue;
    const site = element.dataset.site || fallback;
    const thread = element.dataset.livethreadCount || "";
    const key = `${site}\n${thread}`;
    shown.set(key, [...(shown.get(key) || []), element]);
    found.push({ site, thread });
  }

  /** @param {string} site @param {unknown} counts */
  function show(site, counts) {
    if (!counts || typeof counts !== "object") return;
    for (const [thread, count] of Object.entries(counts)) {
      if (typeof count !== "number") continue;
      // textContent only: a count is never read as HTML.
      for (const element of shown.get(`${site}\n${thread}`) || []) element.textContent = number.format(count);
    }
  }

  /** @param {string} site @param {string[]} threads @param {number} attempt */
  function watch(site, threads, attempt) {
    const socket = new WebSocket(address(base.replace(/^http/, "ws"), "/ws/v1/counts", site, threads));
    socket.onmessage = (message) => {
      attempt = 0;
      try {
        const frame = JSON.parse(String(message.data));
        if (frame && frame.type === "counts") show(site, frame.counts);
      } catch {
        // Not a frame of ours: nothing to show.
      }
    };
    socket.onclose = (closed) => {
      if (closed.code !== REFUSED) setTimeout(() => watch(site, threads, attempt + 1), delay(attempt));
    };
  }

  for (const [site, threads] of bySite(found)) {
    for (const run of chunks(threads, PER_REQUEST)) {
      fetch(address(base, "/api/v1/counts", site, run))
        .then((answer) => (answer.ok ? answer.json() : null))
        .then((answer) => answer && show(site, answer.counts))
        .catch(() => {});
    }
    for (const run of chunks(threads, PER_SOCKET)) watch(site, run, 0);
  }
}

if (typeof document !== "undefined") {
  const script = document.currentScript instanceof HTMLScriptElement ? document.currentScript : null;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => start(script));
  else start(script);
}
