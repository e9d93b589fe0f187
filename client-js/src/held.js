// Comments from others that arrived live, held behind the "N new comments" button so the
// text under the reader's eyes does not jump.

/** @typedef {import("./types.js").Comment} Comment */

export class Held {
  constructor() {
    /** @type {Map<string, Comment>} */
    this.items = new Map();
  }

  get size() {
    return this.items.size;
  }

  /** @param {string} id */
  has(id) {
    return this.items.has(id);
  }

  /** @param {Comment} c */
  hold(c) {
    this.items.set(c.id, c);
  }

  /** An edit to a held comment replaces it; returns whether it was held. @param {Comment} c */
  update(c) {
    if (!this.items.has(c.id)) return false;
    this.items.set(c.id, c);
    return true;
  }

  /**
   * A removal: the comment and any held replies to it are dropped. Returns the ids dropped.
   * @param {string} id
   */
  drop(id) {
    /** @type {string[]} */
    const dropped = [];
    const gone = new Set([id]);
    for (const [key, c] of this.items) {
      if (gone.has(key) || (c.parent && gone.has(c.parent))) {
        gone.add(key);
        this.items.delete(key);
        dropped.push(key);
      }
    }
    return dropped;
  }

  /** Everything held, oldest first; the buffer is emptied. */
  take() {
    const all = [...this.items.values()];
    this.items.clear();
    return all;
  }
}
