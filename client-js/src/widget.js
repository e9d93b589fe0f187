// One embedded thread: its state (tree, seq, held comments), its DOM, and the live channel.

import { Api, refused } from "./api.js";
import { Connection } from "./connection.js";
import { h } from "./dom.js";
import { Events } from "./events.js";
import { Held } from "./held.js";
import { pageMeta } from "./meta.js";
import { Sequence } from "./sequence.js";
import { moderatorsDesk, reportForm } from "./scripts.js";
import { remembered } from "./storage.js";
import { adopt } from "./styles.js";
import { Thread } from "./tree.js";
import { editable, wrote } from "./own.js";
import { ORDERS, compare, sorted } from "./order.js";
import { PAGE_SIZE, Pages } from "./pages.js";
import { mark, named } from "./permalink.js";
import { Reacting } from "./reacting.js";
import { article, retime } from "./view.js";
import { Writing } from "./writing.js";

/** @typedef {import("./types.js").Account} Account */
/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Desk} Desk */
/** @typedef {import("./types.js").DeskMaker} DeskMaker */
/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./types.js").Snapshot} Snapshot */
/** @typedef {import("./strings.js").Words} Words */

// The most top-level comments a page may hold (server/threads/pages.py MAX_LIMIT): a reload
// asks for as many as the reader had, up to this.
const PAGE_MAX = 200;

export class Widget {
  /** @param {HTMLElement} host @param {string} base @param {Words} words the page's language's strings (strings.js) */
  constructor(host, base, { lang, t, dir }) {
    const data = host.dataset;
    this.t = t;
    this.lang = lang;
    this.api = new Api(data.api || base, data.site || "", data.thread || "");
    // Server messages (a refused form's texts) in the widget's language.
    this.api.lang = lang;
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
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
    /** @type {Map<string, Comment>} the reader's own comments that only they see (`comment.own`):
     * no snapshot has them, so a reload draws them again from here */
    this.unseen = new Map();
    this.writing = new Writing(this);
    this.reacting = new Reacting(this);
    // Readers get the thread in pages; moderators whole (they act on any comment of it).
    this.pages = new Pages(this);
    /** the thread's comment count: the page's, moved by each event since */
    this.total = 0;
    const order = remembered.order(this.api.site) || "";
    this.order = ORDERS.includes(order) ? order : "oldest";
    this.events = new Events(this);

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
    this.fresh = h("button", { type: "button", class: "lt-btn lt-new", hidden: true, onclick: () => this.events.reveal() });
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
      { "aria-labelledby": "lt-heading", dir, lang },
      h("header", { class: "lt-head" }, this.heading, this.reading, sorter, this.status, this.tools),
      this.fresh,
      this.empty,
      this.pages.earlierButton,
      this.list,
      this.pages.moreButton,
      this.closed,
      this.note,
      this.bottom,
      this.live,
    );
    this.connection = new Connection(
      (since) => this.api.socketUrl(since, remembered.posted(this.api.site, this.api.thread)),
      () => this.seq.last,
      (frame) => this.events.receive(frame),
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
      await Promise.all([this.load(named(location.hash)), this.moderating || this.signIn()]);
    } catch (error) {
      if (refused(error)) return this.refuse();
      if (this.desk && this.desk.refused(error)) return;
      this.heading.textContent = this.t.unloaded;
      return;
    }
    this.reacting.mine();
    this.connection.open();
    this.desk?.open();
    window.addEventListener("hashchange", () => void this.target());
    void this.target();
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

  /** Load (or reload) the thread and draw it: for a reader its first page, or the page that
   * holds the comment `around` names (a permalink's); for a moderator all of it.
   * @param {string} [around] */
  async load(around) {
    const snap = this.moderating ? await this.api.snapshot() : await this.firstPage(around);
    this.thread = new Thread(snap.comments);
    this.total = snap.count;
    this.seq = new Sequence(snap.seq);
    this.editWindow = snap.edit_window || 900;
    this.about = { title: snap.title || "", url: snap.url || "" };
    this.held.take();
    this.items.clear();
    this.writing.inline = null;
    // A page comes in its order (the server ranks "best" with every like), the whole snapshot
    // oldest first.
    const tops = this.moderating ? this.tops() : this.thread.children(null);
    this.list.replaceChildren(...tops.map((c) => this.draw(c)));
    this.pages.reset(snap);
    this.events.settle = true;
    // Unless the snapshot has it now (published since: its ban lifted, and approved).
    for (const c of this.unseen.values()) {
      if (this.thread.has(c.id)) this.unseen.delete(c.id);
      else {
        this.total++;
        this.place(c);
      }
    }
    this.loaded = true;
    if (this.desk) this.tools.replaceChildren(...this.desk.tools());
    this.setLocked(snap.locked);
    this.events.showHeld();
    this.counted();
  }

  /** @param {string} [around] @returns {Promise<Snapshot>} */
  firstPage(around) {
    // A reload keeps as many top-level comments as the reader had loaded from the top.
    const had = this.pages.prev === null ? this.thread.children(null).length : 0;
    const limit = String(around ? PAGE_SIZE : Math.min(PAGE_MAX, Math.max(PAGE_SIZE, had)));
    // `around` a comment that is gone (or never was): the server answers the first page.
    return this.api.page(around ? { order: this.order, limit, around } : { order: this.order, limit });
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
    // Pages not loaded may hold what now comes first: the thread loads again in the order.
    if (this.pages.whole) this.resort();
    else void this.events.resync();
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

  /** Draw a reply at the end of the replies shown under `under`. @param {HTMLLIElement} under @param {Comment} c */
  attach(under, c) {
    let list = /** @type {HTMLOListElement | null} */ (under.querySelector(":scope > ol"));
    if (!list) under.append((list = h("ol")));
    list.append(this.draw(c));
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
    const under = parent === null ? null : this.items.get(parent);
    if (under) return this.attach(under, c);
    const li = this.draw(c);
    {
      // Where the order puts it among those shown (which "Best" may have left as they were).
      const before = compare(this.order, this.likes(), Date.now());
      const next = [...this.list.children].find((el) => {
        const shown = this.thread.get(/** @type {HTMLElement} */ (el).dataset.id || "");
        return el !== li && shown && before(c, shown) < 0;
      });
      this.list.insertBefore(li, next || null);
    }
  }

  /** Is this comment the reader's own (so replies to it show at once)? @param {string | null | undefined} id */
  isMine(id) {
    return !!id && (id in remembered.own() || wrote(this.thread.get(id), false, this.me?.key));
  }

  counted() {
    this.heading.textContent = this.t.count(this.moderating ? this.thread.count() : this.total);
    this.empty.hidden = this.items.size > 0 || this.held.size > 0;
    this.pages.show();
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

  /** Scroll to and mark the comment named by `#comment-ID`, loading the page that holds it
   * if no page shown has it. */
  async target() {
    const id = named(location.hash);
    if (id && !this.items.has(id) && !this.pages.whole) await this.events.resync(id);
    mark(this.root, id, this.items);
  }

  /** @param {string} id @param {string} action */
  async act(id, action) {
    try {
      if (action === "reply") return this.writing.reply(id);
      if (action === "edit") return this.writing.edit(id);
      if (action === "report") return (await reportForm(this.base))(this, id);
      if (action === "delete") await this.writing.remove(id);
      this.counted();
    } catch (error) {
      this.trouble(error);
    }
  }
}
