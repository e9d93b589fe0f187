// Reaction counts by version (frames from several processes cross, a POST's answer races them)
// and the reader's optimistic toggle; the anonymous reader key and the threads reacted in.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Api } from "../src/api.js";
import { KINDS, Tally, newer } from "../src/reactions.js";

/** A localStorage of a Map, for storage.js to find on `window` when it loads. */
class Memory {
  constructor() {
    this.map = new Map();
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}
globalThis.window = { localStorage: new Memory(), sessionStorage: new Memory() };
const { remembered } = await import("../src/storage.js");

test("the kinds are the server's, Like first", () => {
  assert.deepEqual(KINDS, ["like", "love", "laugh", "wow", "sad"]);
});

test("only a higher version replaces the counts shown", () => {
  assert.equal(newer(1, undefined), true);
  assert.equal(newer(3, 2), true);
  assert.equal(newer(2, 2), false);
  assert.equal(newer(1, 2), false);
  const tally = new Tally();
  assert.equal(tally.take("a", 2, { like: 2 }), true);
  // A frame from a slower process, crossing the newer one: ignored.
  assert.equal(tally.take("a", 1, { like: 1 }), false);
  assert.equal(tally.take("a", 2, { like: 5 }), false);
  assert.equal(tally.count("a", "like"), 2);
  assert.equal(tally.count("a", "wow"), 0);
  assert.equal(tally.count("b", "like"), 0);
});

test("a toggle shows at once and the answer replaces it, even one that changed nothing", () => {
  const tally = new Tally();
  tally.take("a", 4, { like: 2 });
  const { on } = tally.toggle("a", "like");
  assert.equal(on, true);
  assert.equal(tally.pressed("a", "like"), true);
  assert.equal(tally.count("a", "like"), 3);
  // The server had this reader's like already (a page that did not know): same version, 2.
  assert.equal(tally.take("a", 4, { like: 2 }), true);
  assert.equal(tally.count("a", "like"), 2);
  const off = tally.toggle("a", "like");
  assert.equal(off.on, false);
  assert.equal(tally.count("a", "like"), 1);
  assert.equal(tally.pressed("a", "like"), false);
});

test("a failed toggle is taken back, its counts only while no reading came meanwhile", () => {
  const tally = new Tally();
  const first = tally.toggle("a", "love");
  assert.equal(tally.count("a", "love"), 1);
  first.undo();
  assert.equal(tally.count("a", "love"), 0);
  assert.equal(tally.pressed("a", "love"), false);
  assert.equal(tally.take("a", 1, { like: 1 }), true, "nothing was there to outrank");

  const second = tally.toggle("a", "like");
  tally.take("a", 2, { like: 7 });
  second.undo();
  assert.equal(tally.count("a", "like"), 7, "the newer reading is the server's truth");
  assert.equal(tally.pressed("a", "like"), false);
});

test("counts never go below zero", () => {
  const tally = new Tally();
  tally.press("a", "sad", true);
  tally.toggle("a", "sad");
  assert.equal(tally.count("a", "sad"), 0);
});

test("the reader key is made once, in the server's alphabet, and only sent without an account", () => {
  const key = remembered.reader();
  assert.match(key, /^[A-Za-z0-9_-]{16,64}$/);
  assert.equal(remembered.reader(), key);
  const api = new Api("https://c.example", "news", "a");
  assert.deepEqual(api.readerKey(key), { "X-Reader-Key": key });
  api.account = "signed.in.token";
  assert.equal(api.readerKey(key), undefined);
});

test("a stored key the server would refuse is made anew", async () => {
  window.localStorage.setItem("livethread:reader", "short");
  const fresh = await import(`../src/storage.js?again`);
  assert.match(fresh.remembered.reader(), /^[A-Za-z0-9_-]{16,64}$/);
});

test("threads reacted in are remembered apart from those posted in, bounded", () => {
  assert.equal(remembered.reacted("news", "a"), false);
  remembered.setReacted("news", "a");
  assert.equal(remembered.reacted("news", "a"), true);
  assert.equal(remembered.posted("news", "a"), false);
  for (let n = 0; n < 150; n++) remembered.setReacted("news", `t${n}`);
  assert.equal(remembered.reacted("news", "a"), false, "the oldest went first");
  assert.equal(remembered.reacted("news", "t149"), true);
});

test("the chosen order is remembered per site", () => {
  assert.equal(remembered.order("news"), null);
  remembered.setOrder("news", "best");
  assert.equal(remembered.order("news"), "best");
  assert.equal(remembered.order("blog"), null);
});
