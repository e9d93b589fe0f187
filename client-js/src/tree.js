// The thread as a tree of comments, kept in step with events. Pure: no DOM.

/** @typedef {import("./types.js").Comment} Comment */

export class Thread {
  /** @param {Comment[]} comments oldest first */
  constructor(comments = []) {
    /** @type {Map<string, Comment>} */
    this.byId = new Map();
    /** @type {Map<string | null, string[]>} children ids by parent id (null: top level) */
    this.kids = new Map();
    for (const c of comments) this.put(c);
  }

  /** @param {string} id */
  has(id) {
    return this.byId.has(id);
  }

  /** @param {string} id */
  get(id) {
    return this.byId.get(id);
  }

  /**
   * Add or replace a comment; returns true when it is new.
   * @param {Comment} c
   */
  put(c) {
    const known = this.byId.has(c.id);
    this.byId.set(c.id, c);
    if (!known) {
      // A reply whose parent we do not have is shown at the top level rather than lost.
      const parent = c.parent && this.byId.has(c.parent) ? c.parent : null;
      const list = this.kids.get(parent) || [];
      list.push(c.id);
      this.kids.set(parent, list);
    }
    return !known;
  }

  /** @param {string | null} id @returns {Comment[]} */
  children(id) {
    return (this.kids.get(id) || []).map((k) => /** @type {Comment} */ (this.byId.get(k)));
  }

  /** The parent a comment is shown under (null: top level). @param {string} id */
  shownParent(id) {
    for (const [parent, list] of this.kids) if (list.includes(id)) return parent;
    return null;
  }

  /** @param {string} id */
  depth(id) {
    let depth = 0;
    for (let p = this.shownParent(id); p !== null; p = this.shownParent(p)) depth++;
    return depth;
  }

  /**
   * Remove a comment for readers. It stays as a tombstone while replies hang below it;
   * a tombstone left without replies goes too, and so on up the thread.
   * @param {string} id
   * @param {boolean} keepText moderators keep the text (to judge a restore)
   * @returns {{tombstone: string | null, dropped: string[]}}
   */
  remove(id, keepText = false) {
    const c = this.byId.get(id);
    if (!c) return { tombstone: null, dropped: [] };
    this.byId.set(
      id,
      keepText ? { ...c, status: "removed" } : { ...c, status: "removed", author: null, html: null },
    );
    if (keepText) return { tombstone: id, dropped: [] };
    /** @type {string[]} */
    const dropped = [];
    /** @type {string | null} */
    let at = id;
    while (at !== null) {
      const node = this.byId.get(at);
      if (!node || node.status !== "removed" || this.children(at).length) break;
      const parent = this.shownParent(at);
      this.byId.delete(at);
      this.kids.set(parent, (this.kids.get(parent) || []).filter((k) => k !== at));
      dropped.push(at);
      at = parent;
    }
    return { tombstone: dropped.includes(id) ? null : id, dropped };
  }

  /** Visible comments: the number in the header. */
  count() {
    let n = 0;
    for (const c of this.byId.values()) if (c.status === "visible") n++;
    return n;
  }
}
