// A thread's live events as the page applies them: frames in seq order (a gap resumes the
// socket, a `resync` reloads), counts and readers aside from it, the reader's own hidden
// comments, others' new comments held behind "N new" until the reader asks.

import { refused } from "./api.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./widget.js").Widget} Widget */

// Frames queued while a snapshot reloads (after `resync`); beyond this, reload again.
const QUEUE_LIMIT = 1000;
/** @type {Partial<Record<string, number>>} how each event moves the thread's comment count */
const COUNTS = { "comment.removed": -1, "comment.restored": 1, "comment.approved": 1 };
// After a load, the counts frame that follows `hello` may still sort "Best" (it is the state
// the page opened on, not a change under the reader's eyes); a thread without reactions sends
// none, so after this long counts no longer move anything.
const SETTLE_MS = 2000;

export class Events {
  /** @param {Widget} w */
  constructor(w) {
    this.w = w;
    /** @type {Frame[] | null} frames waiting while a snapshot reloads */
    this.queue = null;
    // Until the counts after a load have come: see SETTLE_MS.
    this.settle = false;
  }

  /** @param {Frame} frame */
  receive(frame) {
    if (this.queue) {
      if (this.queue.push(frame) > QUEUE_LIMIT) this.resync();
      return;
    }
    if (frame.type === "hello") {
      setTimeout(() => (this.settle = false), SETTLE_MS);
      return this.w.setLocked(!!frame.locked);
    }
    // Counts and readers are state, not events: outside the sequence, never a resync.
    if (frame.type === "reactions") {
      if (this.w.reacting.counts(frame.comments || []) && this.settle && this.w.order === "best") this.w.resort();
      this.settle = false;
      return;
    }
    if (frame.type === "presence") {
      const n = frame.count || 0;
      this.w.reading.hidden = n < 2;
      this.w.reading.textContent = this.w.t.reading(n);
      return;
    }
    if (frame.type === "resync") return this.resync();
    // Outside the thread's sequence: it has no seq, and the events around it go on as they were.
    if (frame.type === "comment.own") return frame.comment && this.ownOnly(frame.comment);
    if (typeof frame.seq !== "number") return;
    const where = this.w.seq.check(frame.seq);
    if (where === "seen") return;
    if (where === "gap") return this.w.connection.resume();
    this.w.seq.advance(frame.seq);
    const c = frame.comment;
    this.w.total += frame.type === "comment.created" ? +(c?.status === "visible") : COUNTS[frame.type] || 0;
    if (!this.w.pages.unloaded(frame)) return this.apply(frame);
    this.w.pages.keep(frame);
    this.w.counted();
  }

  /** Load the thread again (its first page, or the one holding `around`), with the frames
   * that arrive meanwhile played after it. @param {string} [around] */
  async resync(around) {
    this.queue = [];
    try {
      await this.w.load(around);
    } catch (error) {
      if (!refused(error)) throw error;
      this.w.refuse();
    } finally {
      const queued = this.queue || [];
      this.queue = null;
      for (const frame of queued) this.receive(frame);
    }
  }

  /** The reader's own comment that nobody else sees (a shadow-banned author's): shown as any of
   * their published comments, in its place (a copy already shown is replaced). @param {Comment} c */
  ownOnly(c) {
    // Counted for its author, as a published one would be (no event moved the count).
    if (!this.w.unseen.has(c.id) && !this.w.thread.has(c.id)) this.w.total++;
    this.w.unseen.set(c.id, c);
    if (this.w.held.items.delete(c.id)) this.showHeld();
    this.w.place(c);
    this.w.counted();
  }

  /** @param {Frame} f */
  apply(f) {
    const c = f.comment;
    switch (f.type) {
      case "comment.created":
        if (!c) return;
        if (this.w.thread.has(c.id) || this.w.moderating || this.w.isMine(c.parent)) this.w.place(c);
        else {
          this.w.held.hold(c);
          this.showHeld();
          // While the reader's own post is in flight this may be its echo: announce after.
          if (this.w.writing.posting) this.w.writing.unannounced = true;
          else this.w.say(this.w.t.fresh(this.w.held.size));
        }
        break;
      case "comment.edited":
        if (c && !this.w.held.update(c) && this.w.thread.has(c.id)) {
          this.w.thread.put(c);
          this.w.redraw(c.id);
        }
        break;
      case "comment.removed":
        if (f.id) this.drop(f.id);
        break;
      case "comment.restored":
      case "comment.approved":
        if (c) this.w.place(c);
        break;
      case "thread.locked":
      case "thread.unlocked":
        this.w.setLocked(f.type === "thread.locked");
        break;
    }
    this.w.counted();
  }

  /** A removal: gone from the held buffer, and from the page (or kept as a tombstone). @param {string} id */
  drop(id) {
    if (this.w.unseen.delete(id)) this.w.total--;
    this.w.held.drop(id);
    this.showHeld();
    const { tombstone, dropped } = this.w.thread.remove(id, this.w.moderating);
    for (const gone of dropped) {
      this.w.items.get(gone)?.remove();
      this.w.items.delete(gone);
    }
    if (tombstone) this.w.redraw(tombstone);
  }

  showHeld() {
    this.w.fresh.hidden = !this.w.held.size;
    this.w.fresh.textContent = this.w.t.fresh(this.w.held.size);
  }

  /** Show the held comments in their places and move focus to the first of them. */
  reveal() {
    const shown = this.w.held.take();
    for (const c of shown) this.w.place(c);
    // The reader asked for a change: the thread may settle into its order now.
    this.w.resort();
    this.showHeld();
    this.w.counted();
    const first = shown[0] && this.w.items.get(shown[0].id);
    if (first) /** @type {HTMLElement} */ (first.firstChild).focus();
  }
}
