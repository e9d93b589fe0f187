// Reconnect delays: full jitter under an exponential ceiling from 0.5 s to 20 s.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BASE_MS, CAP_MS, delay } from "../src/backoff.js";

test("the ceiling doubles from 0.5 s and stops at 20 s", () => {
  const top = () => 0.999999;
  assert.equal(delay(0, top), BASE_MS - 1);
  assert.equal(delay(1, top), 2 * BASE_MS - 1);
  assert.equal(delay(5, top), 32 * BASE_MS - 1);
  assert.equal(delay(6, top), CAP_MS - 1);
  assert.equal(delay(1000, top), CAP_MS - 1);
});

test("full jitter: any delay from zero up to the ceiling", () => {
  assert.equal(delay(3, () => 0), 0);
  assert.equal(delay(3, () => 0.5), 2000);
});

test("real randomness stays within bounds and spreads out", () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const d = delay(6);
    assert.ok(d >= 0 && d < CAP_MS);
    seen.add(Math.floor(d / 1000));
  }
  assert.ok(seen.size > 5, "delays should not cluster");
});
