// Seq handling: the next event applies, seen ones are dropped, a jump is a gap.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Sequence } from "../src/sequence.js";

test("the next seq applies and advances", () => {
  const seq = new Sequence(4);
  assert.equal(seq.check(5), "next");
  seq.advance(5);
  assert.equal(seq.last, 5);
});

test("a seq at or below the last is already seen (replay overlap, duplicates)", () => {
  const seq = new Sequence(4);
  assert.equal(seq.check(4), "seen");
  assert.equal(seq.check(1), "seen");
});

test("a seq beyond the next is a gap", () => {
  const seq = new Sequence(4);
  assert.equal(seq.check(6), "gap");
  assert.equal(seq.last, 4);
});

test("a fresh thread starts at zero and takes seq 1 first", () => {
  const seq = new Sequence(0);
  assert.equal(seq.check(1), "next");
  assert.equal(seq.check(2), "gap");
});
