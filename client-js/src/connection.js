// The live channel: one websocket, resumed from the last applied seq after any interruption.

import { delay } from "./backoff.js";

/** @typedef {import("./types.js").Frame} Frame */

// Close codes after which reconnecting would only be refused again.
const FINAL = new Set([1008]);
// After this many sockets in a row fail to open, ask why (`onTrouble`): a browser never learns
// that a handshake was refused (HTTP 403), only that the socket closed.
export const TROUBLE_AFTER = 3;

export class Connection {
  /**
   * @param {(since: number) => string} url
   * @param {() => number} since the seq the client's state reflects
   * @param {(frame: Frame) => void} onFrame
   * @param {(live: boolean) => void} onStatus
   * @param {() => void} [onTrouble] every TROUBLE_AFTER sockets in a row that failed to open
   */
  constructor(url, since, onFrame, onStatus, onTrouble = () => {}) {
    this.url = url;
    this.since = since;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.onTrouble = onTrouble;
    this.attempt = 0;
    // Sockets that never opened since the last `hello`.
    this.failures = 0;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.stopped = false;
  }

  open() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const ws = new WebSocket(this.url(this.since()));
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      /** @type {Frame} */
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (frame.type === "hello") {
        this.attempt = this.failures = 0;
        this.onStatus(true);
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped || FINAL.has(event.code)) return;
      this.onStatus(false);
      if (!opened && ++this.failures % TROUBLE_AFTER === 0) this.onTrouble();
      if (!this.stopped) this.timer = setTimeout(() => this.open(), delay(this.attempt++));
    };
  }

  /** Start over from the client's seq now (after a gap). */
  resume() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }
}
