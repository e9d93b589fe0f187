// The orders of the top-level comments: "Best" by likes per hour of exposure (with a prior),
// newest, oldest; pinned first in every one.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ORDERS, best, sorted } from "../src/order.js";

const NOW = Date.parse("2026-01-02T00:00:00Z");
const HOUR = 3600000;
/** @param {string} id @param {number} hoursAgo @param {boolean} [pinned] */
const c = (id, hoursAgo, pinned = false) => ({
  id,
  parent: null,
  status: "visible",
  author: { name: "A", url: null },
  html: "<p>x</p>",
  created: new Date(NOW - hoursAgo * HOUR).toISOString(),
  pinned,
});

test("best is (likes + 1) / (hours since posted + 2)", () => {
  assert.equal(best(0, new Date(NOW).toISOString(), NOW), 0.5);
  assert.equal(best(3, new Date(NOW - 2 * HOUR).toISOString(), NOW), 1);
  assert.equal(best(9, new Date(NOW - 8 * HOUR).toISOString(), NOW), 1);
  // A clock behind the server's counts no negative hours.
  assert.equal(best(0, new Date(NOW + HOUR).toISOString(), NOW), 0.5);
});

test("best resists early-vote bias: an old comment's likes count per hour it has been read", () => {
  const likes = { early: 10, late: 3 };
  const order = sorted([c("early", 20), c("late", 1)], "best", (id) => likes[id] || 0, NOW);
  // 11/22 = 0.5 against 4/3 ≈ 1.33: the later comment, liked faster, comes first.
  assert.deepEqual(order.map((x) => x.id), ["late", "early"]);
  // With no likes at all, the newest comment (least exposure) ranks first.
  const none = sorted([c("a", 3), c("b", 2), c("c", 1)], "best", () => 0, NOW);
  assert.deepEqual(none.map((x) => x.id), ["c", "b", "a"]);
});

test("oldest and newest go by the time posted", () => {
  const all = [c("b", 2), c("a", 3), c("c", 1)];
  assert.deepEqual(sorted(all, "oldest", () => 0, NOW).map((x) => x.id), ["a", "b", "c"]);
  assert.deepEqual(sorted(all, "newest", () => 0, NOW).map((x) => x.id), ["c", "b", "a"]);
  assert.deepEqual(all.map((x) => x.id), ["b", "a", "c"], "the input is left as it was");
});

test("pinned comments come first in every order, in that order among themselves", () => {
  const all = [c("a", 3), c("p1", 5, true), c("b", 2), c("p2", 1, true), c("liked", 4)];
  const likes = (/** @type {string} */ id) => (id === "liked" ? 50 : 0);
  assert.deepEqual(sorted(all, "oldest", likes, NOW).map((x) => x.id), ["p1", "p2", "liked", "a", "b"]);
  assert.deepEqual(sorted(all, "newest", likes, NOW).map((x) => x.id), ["p2", "p1", "b", "a", "liked"]);
  assert.deepEqual(sorted(all, "best", likes, NOW).map((x) => x.id), ["p2", "p1", "liked", "b", "a"]);
  assert.deepEqual(ORDERS, ["oldest", "newest", "best"]);
});
