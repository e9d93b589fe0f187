// A long thread read in pages: the first page of top-level comments (each with its replies) in
// the reader's order, "Show more" for the next, "Show earlier" above a permalink's page, and the
// live events about comments no page has brought yet, kept until one does.
//
// Why keep those events: a page is cut at the thread's seq when it was asked for. An event with
// a higher seq about one of its comments (an edit, a removal, a reply) happened after the cut,
// so it is played again once the page is drawn; one with a lower or equal seq is already in the
// page. That holds whatever the order pages come in, so nothing is lost or played twice.

import { h } from "./dom.js";
import { compare } from "./order.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./types.js").Page} Page */
/** @typedef {import("./widget.js").Widget} Widget */

/** Top-level comments a page asks for. */
export const PAGE_SIZE = 50;
// Events kept about comments not loaded; past this, the thread loads again from its first page.
const LATER_LIMIT = 1000;

export class Pages {
  /** @param {Widget} w */
  constructor(w) {
    this.w = w;
    /** @type {string | null} the cursor of the page after the last one shown */
    this.next = null;
    /** @type {string | null} the cursor of the page before the first one shown (a permalink's) */
    this.prev = null;
    /** top-level comments in the whole thread, as the last page said */
    this.topLevel = 0;
    /** @type {Frame[]} events about comments no page has brought yet (see above) */
    this.later = [];
    this.busy = false;
    this.moreButton = h("button", { type: "button", class: "lt-btn lt-more", hidden: true, onclick: () => this.more(true) });
    this.earlierButton = h("button", { type: "button", class: "lt-btn lt-earlier", hidden: true, onclick: () => this.more(false) }, w.t.earlier);
  }

  /** Whether every top-level comment is on the page. */
  get whole() {
    return this.next === null && this.prev === null;
  }

  /** A fresh load: the page is the whole of what is shown. @param {Page} page */
  reset(page) {
    this.later = [];
    this.adopt(page, true, true);
  }

  /** Take a page's cursors: the one below, above, or both. @param {Page} page @param {boolean} below @param {boolean} above */
  adopt(page, below, above) {
    if (below) this.next = page.next ?? null;
    if (above) this.prev = page.prev ?? null;
    this.topLevel = page.top_level ?? 0;
    this.show();
  }

  show() {
    const { moreButton: more, earlierButton: earlier, w } = this;
    more.hidden = this.next === null;
    more.textContent = w.t.more(Math.max(1, this.topLevel - w.thread.children(null).length));
    earlier.hidden = this.prev === null;
  }

  /** Whether an event is about a comment that no page has brought yet (and so must wait for
   * one): a reply under one, or a change to one. Never while the whole thread is shown.
   * @param {Frame} f */
  unloaded(f) {
    if (this.whole) return false;
    const thread = this.w.thread;
    const c = f.comment;
    const id = c ? c.id : f.id || "";
    if (thread.has(id) || this.w.held.has(id) || this.w.unseen.has(id)) return false;
    if (f.type === "comment.removed" || f.type === "comment.edited") return true;
    if (!c) return false;
    // A new reply (or one approved or restored) under a comment not loaded.
    if (c.parent) return !thread.has(c.parent) && !this.w.held.has(c.parent);
    // A top-level one approved or restored where the order puts it among pages not loaded (a
    // new one from someone else is held behind "N new" as ever: the reader chooses to see it).
    return f.type !== "comment.created" && this.outside(c);
  }

  /** Whether a top-level comment sorts below the last one shown with pages still below it, or
   * above the first one shown with pages above it. @param {Comment} c */
  outside(c) {
    const { list, thread } = this.w;
    const before = compare(this.w.order, this.w.likes(), Date.now());
    /** @param {Element | null} el */
    const at = (el) => thread.get(/** @type {HTMLElement | null} */ (el)?.dataset.id || "");
    const last = at(list.lastElementChild);
    const first = at(list.firstElementChild);
    return (this.next !== null && !!last && before(c, last) > 0) || (this.prev !== null && !!first && before(c, first) < 0);
  }

  /** Keep an event until a page brings its comment. @param {Frame} f */
  keep(f) {
    if (this.later.push(f) > LATER_LIMIT) void this.w.events.resync();
  }

  /** The next page below (or the one before, above). @param {boolean} down */
  async more(down) {
    const cursor = down ? this.next : this.prev;
    if (this.busy || cursor === null) return;
    this.busy = true;
    const button = down ? this.moreButton : this.earlierButton;
    button.disabled = true;
    try {
      const page = await this.w.api.page({ order: this.w.order, limit: String(PAGE_SIZE), after: cursor });
      const added = this.absorb(page);
      this.adopt(page, down, !down);
      this.show();
      const first = added[0] && this.w.items.get(added[0]);
      if (first) /** @type {HTMLElement} */ (first.firstChild).focus();
    } catch (error) {
      this.w.trouble(error);
    } finally {
      this.busy = false;
      button.disabled = false;
    }
  }

  /**
   * Draw a page's comments that are not shown yet, each top-level one where the order puts it
   * among those shown, then play the events that came after the page was cut. Returns the ids
   * of the top-level comments drawn.
   * @param {Page} page
   */
  absorb(page) {
    const w = this.w;
    /** @type {Comment[]} */
    const roots = [];
    for (const c of page.comments) {
      if (w.thread.has(c.id)) continue;
      // A comment held behind "N new" that the page shows: shown with the page instead.
      if (w.held.items.delete(c.id)) w.events.showHeld();
      w.thread.put(c);
      if (w.thread.shownParent(c.id) === null) roots.push(c);
      else {
        const parent = w.items.get(w.thread.shownParent(c.id) || "");
        if (parent) w.attach(parent, c);
      }
    }
    const before = compare(w.order, w.likes(), Date.now());
    for (const c of roots) {
      const li = w.draw(c);
      // From the end: a page's comments go before those shown live that sort after them.
      let at = /** @type {Element | null} */ (null);
      for (let el = w.list.lastElementChild; el; el = el.previousElementSibling) {
        const shown = w.thread.get(/** @type {HTMLElement} */ (el).dataset.id || "");
        if (!shown || before(c, shown) >= 0) break;
        at = el;
      }
      w.list.insertBefore(li, at);
    }
    this.replay(page.seq);
    w.counted();
    return roots.map((c) => c.id);
  }

  /** Play the kept events newer than a page's cut about comments now loaded (an older one is
   * in the page already); keep those still about comments not loaded. @param {number} seq */
  replay(seq) {
    const kept = this.later;
    this.later = [];
    for (const f of kept) {
      if (this.unloaded(f)) this.later.push(f);
      else if ((f.seq || 0) > seq) this.w.events.apply(f);
    }
  }
}
