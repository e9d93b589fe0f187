// Which comments the reader may edit: by an edit token this browser holds, or by their account.
import { test } from "node:test";
import assert from "node:assert/strict";
import { editable, wrote } from "../src/own.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const WINDOW = 900;

/** @param {string | null} key @param {number} [ago] seconds since it was posted */
function comment(key, ago = 60) {
  const created = new Date(NOW - ago * 1000).toISOString();
  return { id: "c1", parent: null, status: "visible", author: { name: "Ann", url: null, key }, html: "", created };
}

test("a comment is the reader's by a held edit token, whoever wrote it", () => {
  assert.equal(wrote(comment(null), true, null), true);
  assert.equal(wrote(comment("k".repeat(16)), true, "other"), true);
});

test("a comment is the reader's when its author key is their account's", () => {
  assert.equal(wrote(comment("a".repeat(16)), false, "a".repeat(16)), true);
  assert.equal(wrote(comment("a".repeat(16)), false, "b".repeat(16)), false);
});

test("anonymous comments (key null) are nobody's account's, signed in or not", () => {
  assert.equal(wrote(comment(null), false, null), false);
  assert.equal(wrote(comment(null), false, undefined), false);
  assert.equal(wrote(comment(null), false, ""), false);
  assert.equal(wrote({ ...comment(null), author: null }, false, "a".repeat(16)), false);
  assert.equal(wrote(undefined, true, "a".repeat(16)), false);
});

test("either way, only within the edit window", () => {
  const key = "a".repeat(16);
  assert.equal(editable(comment(key, WINDOW - 1), false, key, WINDOW, NOW), true);
  assert.equal(editable(comment(key, WINDOW + 1), false, key, WINDOW, NOW), false);
  assert.equal(editable(comment(null, WINDOW + 1), true, null, WINDOW, NOW), false);
  assert.equal(editable(comment(null, 10), false, key, WINDOW, NOW), false);
});
