// The live channel: one websocket, resumed from the last applied seq after any interruption.

import { delay } from "./backoff.js";

/** @typedef {import("./types.js").Frame} Frame */

// Close codes after which reconnecting would only be refused again.
const FINAL = new Set([1008]);

export class Connection {
  /**
   * @param {(since: number) => string} url
   * @param {() => number} since the seq the client's state reflects
   * @param {(frame: Frame) => void} onFrame
   * @param {(live: boolean) => void} onStatus
   */
  constructor(url, since, onFrame, onStatus) {
    this.url = url;
    this.since = since;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.attempt = 0;
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
        this.attempt = 0;
        this.onStatus(true);
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped || FINAL.has(event.code)) return;
      this.onStatus(false);
      this.timer = setTimeout(() => this.open(), delay(this.attempt++));
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
