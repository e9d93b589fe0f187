// The index pages' counts script: threads grouped per site, requests and sockets batched.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PER_REQUEST, PER_SOCKET, address, bySite, chunks } from "../src/counts.js";

test("threads are grouped by site, each once, in the order first met", () => {
  const found = [
    { site: "news", thread: "a" },
    { site: "blog", thread: "x" },
    { site: "news", thread: "b" },
    { site: "news", thread: "a" },
    { site: "", thread: "nosite" },
    { site: "news", thread: "" },
  ];
  assert.deepEqual([...bySite(found)], [["news", ["a", "b"]], ["blog", ["x"]]]);
});

test("batches keep to what one request and one socket take", () => {
  assert.equal(PER_REQUEST, 100);
  assert.equal(PER_SOCKET, 200);
  const threads = Array.from({ length: 250 }, (_, n) => `t${n}`);
  assert.deepEqual(chunks(threads, PER_REQUEST).map((run) => run.length), [100, 100, 50]);
  assert.deepEqual(chunks(threads, PER_SOCKET).map((run) => run.length), [200, 50]);
  assert.deepEqual(chunks([], PER_SOCKET), []);
});

test("an address names the site and repeats thread, encoded", () => {
  assert.equal(
    address("ws://127.0.0.1:8000", "/ws/v1/counts", "news", ["a-1", "b&c"]),
    "ws://127.0.0.1:8000/ws/v1/counts?site=news&thread=a-1&thread=b%26c",
  );
});
