// What the socket asks for a page that has posted in its thread: its own comments that only it
// is shown (`mine=1`), remembered per thread in the browser (src/storage.js, src/api.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Api } from "../src/api.js";

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

test("the socket URL asks for one's own comments only when told to", () => {
  const api = new Api("https://c.example", "news", "a b");
  assert.equal(api.socketUrl(7), "wss://c.example/ws/v1/threads?site=news&thread=a+b&since=7");
  assert.equal(api.socketUrl(7, true), "wss://c.example/ws/v1/threads?site=news&thread=a+b&since=7&mine=1");
});

test("a thread posted in is remembered by site and thread, a bounded number of them", () => {
  assert.equal(remembered.posted("news", "a"), false);
  remembered.setPosted("news", "a");
  assert.equal(remembered.posted("news", "a"), true);
  assert.equal(remembered.posted("news", "b"), false);
  assert.equal(remembered.posted("blog", "a"), false);
  // No separator makes two threads one: "x/y" + "z" is not "x" + "y/z".
  remembered.setPosted("x/y", "z");
  assert.equal(remembered.posted("x", "y/z"), false);
  for (let n = 0; n < 150; n++) remembered.setPosted("news", `t${n}`);
  assert.equal(remembered.posts().length, 100);
  assert.equal(remembered.posted("news", "a"), false, "the oldest went first");
  assert.equal(remembered.posted("news", "t149"), true);
  // Posting again makes a thread the newest, not a second entry.
  remembered.setPosted("news", "t50");
  assert.equal(remembered.posts().filter((k) => k === JSON.stringify(["news", "t50"])).length, 1);
  assert.equal(remembered.posts().at(-1), JSON.stringify(["news", "t50"]));
});

test("an unreadable list counts as no thread posted in", () => {
  window.localStorage.setItem("livethread:posted", "{not json");
  assert.deepEqual(remembered.posts(), []);
  window.localStorage.setItem("livethread:posted", '{"a": 1}');
  assert.equal(remembered.posted("news", "a"), false);
});
