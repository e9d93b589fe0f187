// words(): the strings for a page's language tag, loaded from the built language file beside the
// widget; English, without asking the network, for any language not served or not loaded.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runInThisContext } from "node:vm";

// What the browser gives strings.js: window, its events, and <script> elements in the head.
const events = new EventTarget();
Object.assign(globalThis, {
  window: globalThis,
  addEventListener: events.addEventListener.bind(events),
  removeEventListener: events.removeEventListener.bind(events),
  dispatchEvent: events.dispatchEvent.bind(events),
});
/** @type {{src: string, onload: () => void, onerror: () => void}[]} */
const appended = [];
/** How the next appended script behaves: it runs the built file, fails, or runs and does nothing. */
let behaviour = (/** @type {any} */ script) => {
  const lang = script.src.match(/\/lang\/([a-z]+)\.js$/)[1];
  runInThisContext(readFileSync(new URL(`../../server/web/static/lang/${lang}.js`, import.meta.url), "utf8"));
  script.onload();
};
globalThis.document = /** @type {any} */ ({
  createElement: () => ({}),
  head: {
    append(/** @type {any} */ script) {
      appended.push(script);
      queueMicrotask(() => behaviour(script));
    },
  },
});

const { en, words } = await import("../src/strings.js");
const BASE = "https://comments.example";

test("English and unknown languages need no request", async () => {
  for (const tag of ["en", "en-GB", "xx", "xx-YY", "", "EN_us"]) {
    const found = await words(tag, BASE);
    assert.deepEqual(found, { lang: "en", t: en, dir: "ltr" }, tag);
  }
  assert.equal(appended.length, 0);
});

test("pt-BR loads lang/pt.js from the widget's server, once however many widgets ask", async () => {
  const [one, two] = await Promise.all([words("pt-BR", BASE), words("pt", BASE)]);
  assert.equal(appended.length, 1);
  assert.equal(appended[0].src, `${BASE}/lang/pt.js`);
  assert.equal(one.lang, "pt");
  assert.equal(one.dir, "ltr");
  assert.equal(one.t.count(2), "2 comentários");
  assert.equal(one.t.post, "Publicar comentário");
  assert.equal(two.t.count(1), "1 comentário");
  assert.equal(/** @type {any} */ (window).livethreadLang.pt.leave, "Deixe uma resposta");
});

test("Arabic is right to left", async () => {
  const found = await words("ar-EG", BASE);
  assert.deepEqual([found.lang, found.dir, found.t.count(3)], ["ar", "rtl", "3 تعليقات"]);
});

test("a language file that fails to load, or loads and leaves nothing, gives English", async () => {
  const before = appended.length;
  behaviour = (script) => script.onerror();
  assert.deepEqual(await words("ru", BASE), { lang: "en", t: en, dir: "ltr" });
  behaviour = (script) => script.onload();
  assert.deepEqual(await words("ja", BASE), { lang: "en", t: en, dir: "ltr" });
  assert.deepEqual(appended.slice(before).map((s) => s.src), [`${BASE}/lang/ru.js`, `${BASE}/lang/ja.js`]);
});
