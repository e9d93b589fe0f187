// The thread tree: nesting, tombstones kept while replies hang below, cascades on removal.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Thread } from "../src/tree.js";

/** @param {string} id @param {string | null} parent @param {"visible"|"removed"} status */
const c = (id, parent = null, status = "visible") => ({
  id,
  parent,
  status,
  author: status === "removed" ? null : { name: "A", url: null },
  html: status === "removed" ? null : "<p>x</p>",
  created: "2026-01-01T00:00:00Z",
});

const seed = JSON.parse(readFileSync(new URL("../../server/data/thread.json", import.meta.url), "utf8"));
const seedComments = seed.comments.map((/** @type {any} */ s) => c(s.id, s.parent, s.status));

test("the seed nests five deep with its tombstones in place", () => {
  const thread = new Thread(seedComments);
  assert.equal(thread.count(), 24);
  assert.deepEqual(thread.children(null).map((x) => x.id), ["c1", "c8", "c14", "c16", "c23", "c24"]);
  assert.equal(thread.depth("c6"), 4);
  assert.deepEqual(thread.children("r2").map((x) => x.id), ["r3", "c7"]);
});

test("removing a comment with replies leaves a tombstone without author or text", () => {
  const thread = new Thread([c("a"), c("b", "a")]);
  assert.deepEqual(thread.remove("a"), { tombstone: "a", dropped: [] });
  const a = thread.get("a");
  assert.equal(a?.status, "removed");
  assert.equal(a?.html, null);
  assert.equal(a?.author, null);
  assert.equal(thread.count(), 1);
});

test("removing the last reply under tombstones drops them all the way up", () => {
  const thread = new Thread([c("root"), c("t1", "root", "removed"), c("t2", "t1", "removed"), c("leaf", "t2")]);
  assert.deepEqual(thread.remove("leaf"), { tombstone: null, dropped: ["leaf", "t2", "t1"] });
  assert.ok(thread.has("root"));
  assert.deepEqual(thread.children("root"), []);
});

test("a moderator's removal keeps the text", () => {
  const thread = new Thread([c("a")]);
  assert.deepEqual(thread.remove("a", true), { tombstone: "a", dropped: [] });
  assert.equal(thread.get("a")?.html, "<p>x</p>");
  assert.equal(thread.count(), 0);
});

test("putting a known comment replaces it in place; an orphan goes to the top level", () => {
  const thread = new Thread([c("a"), c("b", "a")]);
  assert.equal(thread.put({ ...c("b", "a"), html: "<p>edited</p>" }), false);
  assert.equal(thread.get("b")?.html, "<p>edited</p>");
  assert.deepEqual(thread.children("a").map((x) => x.id), ["b"]);
  assert.equal(thread.put(c("o", "missing")), true);
  assert.equal(thread.shownParent("o"), null);
});

test("removing an unknown comment changes nothing", () => {
  const thread = new Thread([c("a")]);
  assert.deepEqual(thread.remove("zzz"), { tombstone: null, dropped: [] });
  assert.equal(thread.count(), 1);
});
