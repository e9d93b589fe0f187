// One embedded thread: its state (tree, seq, held comments), its DOM, and the live channel.

import { Api, refused } from "./api.js";
import { Connection } from "./connection.js";
import { h } from "./dom.js";
import { Held } from "./held.js";
import { pageMeta } from "./meta.js";
import { Sequence } from "./sequence.js";
import { remembered } from "./storage.js";
import { pick } from "./strings.js";
import { adopt } from "./styles.js";
import { Thread } from "./tree.js";
import { editable, wrote } from "./own.js";
import { ORDERS, compare, sorted } from "./order.js";
import { mark } from "./permalink.js";
import { Reacting } from "./reacting.js";
import { report } from "./report.js";
import { article, retime } from "./view.js";
import { Writing } from "./writing.js";

/** @typedef {import("./types.js").Account} Account */
/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Desk} Desk */
/** @typedef {import("./types.js").DeskMaker} DeskMaker */
/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./types.js").Snapshot} Snapshot */

// Frames queued while a snapshot reloads (after `resync`); beyond this, reload again.
const QUEUE_LIMIT = 1000;
// After a load, the counts frame that follows `hello` may still sort "Best" (it is the state
// the page opened on, not a change under the reader's eyes); a thread without reactions sends
// none, so after this long counts no longer move anything.
const SETTLE_MS = 2000;

/** The moderators' code: moderate.js leaves it on `window`. /moderate loads it before this
 * script; any other page with a data-moderate widget gets it here, from this script's server.
 * @param {string} base @returns {Promise<DeskMaker>} */
function moderatorsDesk(base) {
  return new Promise((resolve, reject) => {
    const found = () => !!window.livethreadModerate && (resolve(window.livethreadModerate), true);
    if (found()) return;
    addEventListener("livethread:moderate", found, { once: true });
    document.head.append(h("script", { src: `${base}/moderate.js`, onerror: reject }));
  });
}

export class Widget {
  /** @param {HTMLElement} host @param {string} base */
  constructor(host, base) {
    const data = host.dataset;
    const { lang, t } = pick(data.lang || document.documentElement.lang || navigator.language);
    this.t = t;
    this.lang = lang;
    this.api = new Api(data.api || base, data.site || "", data.thread || "");
    /** where this script came from (moderate.js too) */
    this.base = base;
    this.api.expired = () => this.signedIn(null, t.expired);
    this.host = host;
    /** @type {Account | null} the signed-in reader, if the page passed a token that was taken */
    this.me = null;
    // The site lets only signed-in readers comment (learnt from an anonymous post's 401).
    this.accountsOnly = false;
    this.moderating = data.moderate !== undefined;
    /** @type {Desk | null} what only moderators have (moderate.js), once the widget has started */
    this.desk = null;
    // The moderators' page is this server's, never the article: it names nothing.
    if (!this.moderating) this.api.meta = pageMeta(data);
    this.root = host.attachShadow({ mode: "open" });
    adopt(this.root);
    this.thread = new Thread();
    this.seq = new Sequence(0);
    this.held = new Held();
    this.locked = false;
    this.editWindow = 900;
    /** the thread's title and URL as the snapshot gave them (moderators may change them) */
    this.about = { title: "", url: "" };
    /** @type {Frame[] | null} frames waiting while a snapshot reloads */
    this.queue = null;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
    /** @type {Map<string, Comment>} the reader's own comments that only they see (`comment.own`):
     * no snapshot has them, so a reload draws them again from here */
    this.unseen = new Map();
    this.writing = new Writing(this);
    this.reacting = new Reacting(this);
    const order = remembered.order(this.api.site) || "";
    this.order = ORDERS.includes(order) ? order : "oldest";
    // Until the counts after a load have come: see SETTLE_MS.
    this.settle = false;

    this.heading = h("h2", { id: "lt-heading" }, t.loading);
    this.status = h("span", { class: "lt-status", role: "status" });
    this.tools = h("span", { class: "lt-tools" });
    // Not a live region: it moves every few seconds on a busy thread.
    this.reading = h("span", { class: "lt-reading", hidden: true });
    const sorter = h(
      "select",
      { class: "lt-sort", "aria-label": t.sort, onchange: () => this.sortBy(sorter.value) },
      ...ORDERS.map((o) => h("option", { value: o, selected: o === this.order }, t.orders[o])),
    );
    this.fresh = h("button", { type: "button", class: "lt-btn lt-new", hidden: true, onclick: () => this.reveal() });
    this.list = h("ol", { class: "lt-list" });
    this.empty = h("p", { class: "lt-empty", hidden: true }, t.empty);
    this.bottom = this.writing.bottom.el;
    // Shown once the thread has loaded (and if it is open).
    this.bottom.hidden = true;
    this.loaded = false;
    this.closed = h("p", { class: "lt-closed", hidden: true }, t.locked);
    this.note = h("p", { class: "lt-note", role: "status", hidden: true });
    this.live = h("div", { class: "lt-sr", "aria-live": "polite" });
    this.section = h(
      "section",
      { "aria-labelledby": "lt-heading" },
      h("header", { class: "lt-head" }, this.heading, this.reading, sorter, this.status, this.tools),
      this.fresh,
      this.empty,
      this.list,
      this.closed,
      this.note,
      this.bottom,
      this.live,
    );
    this.connection = new Connection(
      (since) => this.api.socketUrl(since, remembered.posted(this.api.site, this.api.thread)),
      () => this.seq.last,
      (frame) => this.receive(frame),
      (up) => {
        this.status.textContent = up ? "" : t.reconnecting;
      },
      () => this.recheck(),
    );
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.ticker = undefined;
    this.root.replaceChildren(this.section);
  }

  async start() {
    if (this.moderating) {
      try {
        this.desk = this.desk || (await moderatorsDesk(this.base))(this);
      } catch {
        this.heading.textContent = this.t.unloaded;
        return;
      }
      if (!this.desk.ready()) return;
    }
    this.root.replaceChildren(this.section);
    // The publisher's page may sign its reader in or out (or refresh the token) at any time.
    if (!this.moderating) new MutationObserver(() => this.signIn()).observe(this.host, { attributeFilter: ["data-account-token"] });
    try {
      // Side by side: if the account answers last, the reader's comments are redrawn as theirs.
      await Promise.all([this.load(), this.moderating || this.signIn()]);
    } catch (error) {
      if (refused(error)) return this.refuse();
      if (this.desk && this.desk.refused(error)) return;
      this.heading.textContent = this.t.unloaded;
      return;
    }
    this.reacting.mine();
    this.connection.open();
    this.desk?.open();
    window.addEventListener("hashchange", () => this.target());
    this.target();
    this.ticker = setInterval(() => retime(this.list, this.lang), 60000);
  }

  /** Ask who the page's sign-in token names (once per token); a refused one is told once. */
  async signIn() {
    const token = this.host.dataset.accountToken || null;
    if (token === this.api.account) {
      // The page took out a token that had expired: signed out, the notice has had its say.
      if (!token && this.note.textContent === this.t.expired) this.signedIn(null, "");
      return;
    }
    this.api.account = token;
    /** @type {Account | null} */
    let me = null;
    try {
      if (token) me = await this.api.me();
    } catch {
      // A 401 has been told (api.expired); anything else: anonymous, and the token is not sent.
    }
    // Unless a newer token came meanwhile (or this one was refused, which api.expired told).
    if (this.api.account !== token) return;
    this.api.account = me && token;
    this.signedIn(me, "");
  }

  /** Now signed in as `me` (or anonymous): forms, notes and the edit controls follow. @param {Account | null} me @param {string} note */
  signedIn(me, note) {
    // A refreshed token for the same account redraws nothing (an open edit form stays).
    const other = me?.key !== this.me?.key;
    this.me = me;
    this.note.textContent = note;
    this.writing.account();
    this.showForm();
    if (other) for (const id of this.items.keys()) this.redraw(id);
    // Signed in or out, the reader is someone else: their own reactions are.
    if (other && this.loaded) this.reacting.mine();
  }

  /** An anonymous post was refused: this site is for signed-in readers only. */
  barred() {
    this.accountsOnly = true;
    this.writing.closeInline();
    this.showForm();
  }

  /** The bottom form, unless the thread is closed or only signed-in readers may comment. */
  showForm() {
    const barred = this.accountsOnly && !this.me;
    this.bottom.hidden = this.locked || barred || !this.loaded;
    // On a closed thread nobody comments: the "Locked" line says it all.
    if (barred) this.note.textContent = this.locked ? "" : this.t.signInFirst;
    this.note.hidden = !this.note.textContent;
  }

  /** Whether the reader may edit or delete this comment (their own, within the edit window). @param {string} id */
  mine(id) {
    return editable(this.thread.get(id), id in remembered.own(), this.me?.key, this.editWindow, Date.now());
  }

  /** This page's origin is not one the site lists: stop for good (no socket, no retries) and
   * say so, once, in place of the thread. */
  refuse() {
    this.connection.stop();
    clearInterval(this.ticker);
    const notice = h("p", { class: "lt-refused", tabindex: -1 }, this.t.notHere);
    // The reader was using the widget (posting, say): the focus goes to why it is gone.
    const focused = !!this.root.activeElement;
    this.root.replaceChildren(notice);
    if (focused) notice.focus();
  }

  /** The socket keeps failing before its `hello`: a refused handshake looks just like that to a
   * page, so ask the HTTP API, whose refusal can be read. Anything else: keep reconnecting. */
  recheck() {
    this.api.snapshot().catch((error) => refused(error) && this.refuse());
  }

  /** An action failed: a refusal stops the widget, anything else shows in the status line. @param {unknown} error */
  trouble(error) {
    if (refused(error)) this.refuse();
    else this.status.textContent = error instanceof Error ? error.message : String(error);
  }

  /** Load (or reload) the snapshot and draw the thread from it. */
  async load() {
    /** @type {Snapshot} */
    const snap = await this.api.snapshot();
    this.thread = new Thread(snap.comments);
    this.seq = new Sequence(snap.seq);
    this.editWindow = snap.edit_window || 900;
    this.about = { title: snap.title || "", url: snap.url || "" };
    this.held.take();
    this.items.clear();
    this.writing.inline = null;
    this.list.replaceChildren(...this.tops().map((c) => this.draw(c)));
    this.settle = true;
    // Unless the snapshot has it now (published since: its ban lifted, and approved).
    for (const c of this.unseen.values()) {
      if (this.thread.has(c.id)) this.unseen.delete(c.id);
      else this.place(c);
    }
    this.loaded = true;
    if (this.desk) this.tools.replaceChildren(...this.desk.tools());
    this.setLocked(snap.locked);
    this.showHeld();
    this.counted();
  }

  /** The top-level comments in the reader's order. */
  tops() {
    return sorted(this.thread.children(null), this.order, this.likes(), Date.now());
  }

  likes() {
    return (/** @type {string} */ id) => this.reacting.tally.count(id, "like");
  }

  /** The reader chose an order: remembered for the site, and the thread sorted by it. @param {string} order */
  sortBy(order) {
    this.order = order;
    remembered.setOrder(this.api.site, order);
    this.resort();
  }

  /** Put the top-level comments on the page in the order (only on the reader's request, or as
   * the page opens: nothing moves under their eyes otherwise). */
  resort() {
    this.list.append(...this.tops().flatMap((c) => this.items.get(c.id) || []));
  }

  /** @param {Comment} c @returns {HTMLLIElement} */
  draw(c) {
    const li = h("li", { id: `comment-${c.id}`, "data-id": c.id }, article(c, this.context()));
    this.items.set(c.id, li);
    const kids = this.thread.children(c.id);
    if (kids.length) li.append(h("ol", {}, ...kids.map((k) => this.draw(k))));
    return li;
  }

  context() {
    return {
      t: this.t,
      lang: this.lang,
      moderator: this.moderating,
      locked: this.locked,
      /** @param {string} id */
      mine: (id) => this.mine(id),
      /** @param {string} id */
      own: (id) => this.isMine(id),
      /** @param {string} id @param {string} action */
      act: (id, action) => this.act(id, action),
      extra: this.extra(),
      // Not on the reader's own comment that only they see: nobody else can react to it.
      /** @param {Comment} c */
      bar: (c) => (this.unseen.has(c.id) ? null : this.reacting.bar(c)),
    };
  }

  /** The moderator's buttons for a comment, on the moderators' page. @returns {((c: Comment) => Node[]) | null} */
  extra() {
    const desk = this.desk;
    return desk && ((c) => desk.actions(c));
  }

  /** Redraw one comment's article in place (its replies stay). @param {string} id */
  redraw(id) {
    const li = this.items.get(id);
    const c = this.thread.get(id);
    const old = li && li.firstChild;
    if (!li || !c || !(old instanceof HTMLElement)) return;
    const fresh = article(c, this.context());
    // Keep the reader's focus (a post's own echo redraws the article just focused): on the same
    // control if it is still there, else on the article.
    const active = this.root.activeElement;
    const within = active instanceof HTMLElement && old.contains(active);
    li.replaceChild(fresh, old);
    if (!within) return;
    const kind = active === old ? null : [...active.classList].find((k) => k !== "lt-link");
    const same = kind ? fresh.querySelector(`.${kind}`) : null;
    (same instanceof HTMLElement ? same : fresh).focus({ preventScroll: true });
  }

  /** Put a comment into the DOM under its parent. @param {Comment} c */
  place(c) {
    if (!this.thread.put(c)) return this.redraw(c.id);
    const parent = this.thread.shownParent(c.id);
    const li = this.draw(c);
    const under = parent === null ? null : this.items.get(parent);
    if (!under) {
      // Where the order puts it among those shown (which "Best" may have left as they were).
      const before = compare(this.order, this.likes(), Date.now());
      const next = [...this.list.children].find((el) => {
        const shown = this.thread.get(/** @type {HTMLElement} */ (el).dataset.id || "");
        return el !== li && shown && before(c, shown) < 0;
      });
      return void this.list.insertBefore(li, next || null);
    }
    let list = /** @type {HTMLOListElement | null} */ (under.querySelector(":scope > ol"));
    if (!list) under.append((list = h("ol")));
    list.append(li);
  }

  /** @param {Frame} frame */
  receive(frame) {
    if (this.queue) {
      if (this.queue.push(frame) > QUEUE_LIMIT) this.resync();
      return;
    }
    if (frame.type === "hello") {
      setTimeout(() => (this.settle = false), SETTLE_MS);
      return this.setLocked(!!frame.locked);
    }
    // Counts and readers are state, not events: outside the sequence, never a resync.
    if (frame.type === "reactions") {
      if (this.reacting.counts(frame.comments || []) && this.settle && this.order === "best") this.resort();
      this.settle = false;
      return;
    }
    if (frame.type === "presence") {
      const n = frame.count || 0;
      this.reading.hidden = n < 2;
      this.reading.textContent = this.t.reading(n);
      return;
    }
    if (frame.type === "resync") return this.resync();
    // Outside the thread's sequence: it has no seq, and the events around it go on as they were.
    if (frame.type === "comment.own") return frame.comment && this.ownOnly(frame.comment);
    if (typeof frame.seq !== "number") return;
    const where = this.seq.check(frame.seq);
    if (where === "seen") return;
    if (where === "gap") return this.connection.resume();
    this.seq.advance(frame.seq);
    this.apply(frame);
  }

  async resync() {
    this.queue = [];
    try {
      await this.load();
    } catch (error) {
      if (!refused(error)) throw error;
      this.refuse();
    } finally {
      const queued = this.queue || [];
      this.queue = null;
      for (const frame of queued) this.receive(frame);
    }
  }

  /** The reader's own comment that nobody else sees (a shadow-banned author's): shown as any of
   * their published comments, in its place (a copy already shown is replaced). @param {Comment} c */
  ownOnly(c) {
    this.unseen.set(c.id, c);
    if (this.held.items.delete(c.id)) this.showHeld();
    this.place(c);
    this.counted();
  }

  /** @param {Frame} f */
  apply(f) {
    const c = f.comment;
    switch (f.type) {
      case "comment.created":
        if (!c) return;
        if (this.thread.has(c.id) || this.moderating || this.isMine(c.parent)) this.place(c);
        else {
          this.held.hold(c);
          this.showHeld();
          // While the reader's own post is in flight this may be its echo: announce after.
          if (this.writing.posting) this.writing.unannounced = true;
          else this.say(this.t.fresh(this.held.size));
        }
        break;
      case "comment.edited":
        if (c && !this.held.update(c) && this.thread.has(c.id)) {
          this.thread.put(c);
          this.redraw(c.id);
        }
        break;
      case "comment.removed":
        if (f.id) this.drop(f.id);
        break;
      case "comment.restored":
      case "comment.approved":
        if (c) this.place(c);
        break;
      case "thread.locked":
      case "thread.unlocked":
        this.setLocked(f.type === "thread.locked");
        break;
    }
    this.counted();
  }

  /** A removal: gone from the held buffer, and from the page (or kept as a tombstone). @param {string} id */
  drop(id) {
    this.unseen.delete(id);
    this.held.drop(id);
    this.showHeld();
    const { tombstone, dropped } = this.thread.remove(id, this.moderating);
    for (const gone of dropped) {
      this.items.get(gone)?.remove();
      this.items.delete(gone);
    }
    if (tombstone) this.redraw(tombstone);
  }

  /** Is this comment the reader's own (so replies to it show at once)? @param {string | null | undefined} id */
  isMine(id) {
    return !!id && (id in remembered.own() || wrote(this.thread.get(id), false, this.me?.key));
  }

  showHeld() {
    this.fresh.hidden = !this.held.size;
    this.fresh.textContent = this.t.fresh(this.held.size);
  }

  /** Show the held comments in their places and move focus to the first of them. */
  reveal() {
    const shown = this.held.take();
    for (const c of shown) this.place(c);
    // The reader asked for a change: the thread may settle into its order now.
    this.resort();
    this.showHeld();
    this.counted();
    const first = shown[0] && this.items.get(shown[0].id);
    if (first) /** @type {HTMLElement} */ (first.firstChild).focus();
  }

  counted() {
    this.heading.textContent = this.t.count(this.thread.count());
    this.empty.hidden = this.items.size > 0 || this.held.size > 0;
  }

  /** @param {boolean} locked */
  setLocked(locked) {
    const changed = locked !== this.locked;
    this.locked = locked;
    this.closed.hidden = !locked;
    this.showForm();
    if (locked) this.writing.closeInline();
    this.desk?.locked();
    if (changed) for (const id of this.items.keys()) this.redraw(id);
  }

  /** @param {string} text */
  say(text) {
    this.live.textContent = text;
  }

  /** Scroll to and mark the comment named by `#comment-ID`. */
  target() {
    mark(this.root, location.hash, this.items);
  }

  /** @param {string} id @param {string} action */
  async act(id, action) {
    try {
      if (action === "reply") return this.writing.reply(id);
      if (action === "edit") return this.writing.edit(id);
      if (action === "report") return report(this, id);
      if (action === "delete") await this.writing.remove(id);
      this.counted();
    } catch (error) {
      this.trouble(error);
    }
  }
}
