// The held buffer behind "N new comments": holding, editing, removing, revealing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Held } from "../src/held.js";

/** @param {string} id @param {string | null} parent @param {string} html */
const c = (id, parent = null, html = "<p>x</p>") => ({
  id,
  parent,
  status: /** @type {const} */ ("visible"),
  author: { name: "A", url: null },
  html,
  created: "2026-01-01T00:00:00Z",
});

test("held comments are counted and revealed oldest first, emptying the buffer", () => {
  const held = new Held();
  held.hold(c("a"));
  held.hold(c("b"));
  assert.equal(held.size, 2);
  assert.deepEqual(held.take().map((x) => x.id), ["a", "b"]);
  assert.equal(held.size, 0);
});

test("an edit replaces a held comment; an edit of one not held is not taken", () => {
  const held = new Held();
  held.hold(c("a"));
  assert.equal(held.update(c("a", null, "<p>new</p>")), true);
  assert.equal(held.update(c("zzz")), false);
  assert.equal(held.take()[0].html, "<p>new</p>");
});

test("a removal drops the held comment and held replies to it", () => {
  const held = new Held();
  held.hold(c("a"));
  held.hold(c("b", "a"));
  held.hold(c("c", "b"));
  held.hold(c("d"));
  assert.deepEqual(held.drop("a"), ["a", "b", "c"]);
  assert.deepEqual(held.take().map((x) => x.id), ["d"]);
});

test("holding the same comment twice counts it once", () => {
  const held = new Held();
  held.hold(c("a"));
  held.hold(c("a"));
  assert.equal(held.size, 1);
});
