// The live channel's failure count: a browser cannot see why a handshake failed, so after every
// TROUBLE_AFTER sockets in a row that failed to open the widget is asked to find out.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import { Connection, TROUBLE_AFTER } from "../src/connection.js";

/** A stand-in for the browser's WebSocket: the test closes it or sends it frames. */
class FakeSocket {
  /** @type {FakeSocket[]} */
  static made = [];
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {((event: {data: string}) => void) | null} */
    this.onmessage = null;
    /** @type {((event: {code: number}) => void) | null} */
    this.onclose = null;
    /** @type {(() => void) | null} */
    this.onopen = null;
    FakeSocket.made.push(this);
  }
  open() {
    this.onopen?.();
  }
  /** @param {number} code */
  close(code) {
    this.onclose?.({ code });
  }
  /** @param {object} frame */
  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

/** @type {Array<() => void>} */
let timers = [];
const realSetTimeout = globalThis.setTimeout;

beforeEach(() => {
  FakeSocket.made = [];
  timers = [];
  globalThis.WebSocket = /** @type {any} */ (FakeSocket);
  globalThis.setTimeout = /** @type {any} */ ((/** @type {() => void} */ fn) => timers.push(fn));
});

afterEach(() => {
  delete globalThis.WebSocket;
  globalThis.setTimeout = realSetTimeout;
});

/** Close the current socket the way a refused handshake does, then let its retry run. */
function fail() {
  FakeSocket.made.at(-1)?.close(1006);
  timers.shift()?.();
}

function connection() {
  const calls = { trouble: 0, frames: 0 };
  const c = new Connection(
    (since) => `ws://x/?since=${since}`,
    () => 7,
    () => calls.frames++,
    () => {},
    () => calls.trouble++,
  );
  return { c, calls };
}

test("every third close in a row without a hello asks what is wrong", () => {
  const { c, calls } = connection();
  c.open();
  for (let i = 1; i <= 2 * TROUBLE_AFTER; i++) {
    fail();
    assert.equal(calls.trouble, Math.floor(i / TROUBLE_AFTER), `after ${i} failures`);
  }
  assert.equal(FakeSocket.made.length, 2 * TROUBLE_AFTER + 1, "it keeps reconnecting meanwhile");
  assert.equal(FakeSocket.made[0].url, "ws://x/?since=7");
});

test("a socket that opened, then closed (a server restarting), is not a failure", () => {
  const { c, calls } = connection();
  c.open();
  FakeSocket.made[0].open();
  FakeSocket.made[0].receive({ type: "hello", seq: 7 });
  fail(); // the open socket closes
  fail();
  fail();
  assert.equal(calls.trouble, 0);
  fail(); // the third that never opened
  assert.equal(calls.trouble, 1);
});

test("a hello starts the count again", () => {
  const { c, calls } = connection();
  c.open();
  fail();
  fail();
  FakeSocket.made.at(-1)?.receive({ type: "hello", seq: 7 });
  fail();
  fail();
  assert.equal(calls.trouble, 0);
  assert.equal(calls.frames, 1);
  fail();
  assert.equal(calls.trouble, 1);
});

test("once stopped, nothing reconnects and nothing is asked", () => {
  const { c, calls } = connection();
  c.open();
  fail();
  fail();
  c.stop();
  timers.splice(0).forEach((run) => run());
  assert.equal(FakeSocket.made.length, 3);
  assert.equal(calls.trouble, 0);
});
