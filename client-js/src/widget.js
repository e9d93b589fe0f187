// One embedded thread: its state (tree, seq, held comments), its DOM, and the live channel.

import { Api, ApiError, newKey } from "./api.js";
import { Connection } from "./connection.js";
import { h } from "./dom.js";
import { CommentForm } from "./form.js";
import { Held } from "./held.js";
import { Sequence } from "./sequence.js";
import { editForm, tokenForm } from "./small_forms.js";
import { remembered } from "./storage.js";
import { Queue } from "./queue.js";
import { pick } from "./strings.js";
import { adopt } from "./styles.js";
import { Thread } from "./tree.js";
import { mark } from "./permalink.js";
import { article, retime } from "./view.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./types.js").Snapshot} Snapshot */

// Frames queued while a snapshot reloads (after `resync`); beyond this, reload again.
const QUEUE_LIMIT = 1000;

export class Widget {
  /** @param {HTMLElement} host @param {string} base */
  constructor(host, base) {
    const data = host.dataset;
    const { lang, t } = pick(data.lang || document.documentElement.lang || navigator.language);
    this.t = t;
    this.lang = lang;
    this.api = new Api(data.api || base, data.site || "", data.thread || "");
    this.moderating = data.moderate !== undefined;
    this.root = host.attachShadow({ mode: "open" });
    adopt(this.root);
    this.thread = new Thread();
    this.seq = new Sequence(0);
    this.held = new Held();
    this.locked = false;
    this.editWindow = 900;
    /** @type {Frame[] | null} frames waiting while a snapshot reloads */
    this.queue = null;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
    /** @type {CommentForm | null} the open reply form under a comment */
    this.inline = null;
    // Posts of this reader awaiting their answer, and whether a "new comments" announcement
    // waits for them (the echo of one's own post must not be announced as someone else's).
    this.posting = 0;
    this.unannounced = false;

    this.heading = h("h2", { id: "lt-heading" });
    this.status = h("span", { class: "lt-status", role: "status" });
    this.tools = h("span", { class: "lt-tools" });
    this.fresh = h("button", { type: "button", class: "lt-btn lt-new", hidden: true, onclick: () => this.reveal() });
    this.list = h("ol", { class: "lt-list" });
    this.bottom = new CommentForm(t, this.formOptions(null, t.leave, false));
    this.closed = h("p", { class: "lt-closed", hidden: true }, t.locked);
    this.live = h("div", { class: "lt-sr", "aria-live": "polite" });
    this.section = h(
      "section",
      { "aria-labelledby": "lt-heading" },
      h("header", { class: "lt-head" }, this.heading, this.status, this.tools),
      this.fresh,
      this.list,
      this.closed,
      this.bottom.el,
      this.live,
    );
    this.connection = new Connection(
      (since) => this.api.socketUrl(since),
      () => this.seq.last,
      (frame) => this.receive(frame),
      (up) => {
        this.status.textContent = up ? "" : t.reconnecting;
      },
    );
  }

  async start() {
    if (this.moderating) {
      const token = remembered.moderator(this.api.site);
      if (!token) return this.askToken("");
      this.api.moderator = token;
    }
    this.root.replaceChildren(this.section);
    try {
      await this.load();
    } catch (error) {
      if (this.moderating && error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        remembered.setModerator(this.api.site, null);
        return this.askToken(this.t.badToken);
      }
      this.status.textContent = this.t.failed;
      return;
    }
    this.connection.open();
    if (this.moderating && this.api.moderator) {
      const url = `${this.api.base.replace(/^http/, "ws")}/ws/v1/moderation?${new URLSearchParams({ site: this.api.site })}`;
      const queue = new Queue(this.t, url, this.api.moderator, (id, action) => this.review(id, action));
      this.section.before(queue.el);
      queue.open();
    }
    window.addEventListener("hashchange", () => this.target());
    this.target();
    setInterval(() => retime(this.list, this.lang), 60000);
  }

  /** The moderators' page without a token yet: ask for one. @param {string} problem */
  askToken(problem) {
    const { form, focus } = tokenForm(this.t, problem, (token) => {
      remembered.setModerator(this.api.site, token);
      this.start();
    });
    this.root.replaceChildren(form);
    focus();
  }

  /** Load (or reload) the snapshot and draw the thread from it. */
  async load() {
    /** @type {Snapshot} */
    const snap = await this.api.snapshot();
    this.thread = new Thread(snap.comments);
    this.seq = new Sequence(snap.seq);
    this.editWindow = snap.edit_window || 900;
    this.held.take();
    this.items.clear();
    this.inline = null;
    this.list.replaceChildren(...this.thread.children(null).map((c) => this.draw(c)));
    this.setLocked(snap.locked);
    this.showHeld();
    this.counted();
    if (this.moderating) {
      const forget = () => {
        remembered.setModerator(this.api.site, null);
        location.reload();
      };
      this.tools.replaceChildren(
        h("button", { type: "button", class: "lt-link lt-lock", onclick: () => this.lock() }),
        h("button", { type: "button", class: "lt-link", onclick: forget }, this.t.forget),
      );
      this.setLocked(snap.locked);
    }
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
      mine: (id) => {
        const own = remembered.own()[id];
        const c = this.thread.get(id);
        return !!own && !!c && Date.now() - new Date(c.created).getTime() < this.editWindow * 1000;
      },
      /** @param {string} id @param {string} action */
      act: (id, action) => this.act(id, action),
    };
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
    if (!under) return void this.list.append(li);
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
    if (frame.type === "hello") return this.setLocked(!!frame.locked);
    if (frame.type === "resync") return this.resync();
    if (typeof frame.seq !== "number" || frame.type === "presence") return;
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
    } finally {
      const queued = this.queue || [];
      this.queue = null;
      for (const frame of queued) this.receive(frame);
    }
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
          if (this.posting) this.unannounced = true;
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
    return !!id && id in remembered.own();
  }

  showHeld() {
    this.fresh.hidden = !this.held.size;
    this.fresh.textContent = this.t.fresh(this.held.size);
  }

  /** Show the held comments in their places and move focus to the first of them. */
  reveal() {
    const shown = this.held.take();
    for (const c of shown) this.place(c);
    this.showHeld();
    this.counted();
    const first = shown[0] && this.items.get(shown[0].id);
    if (first) /** @type {HTMLElement} */ (first.firstChild).focus();
  }

  counted() {
    this.heading.textContent = this.t.count(this.thread.count());
  }

  /** @param {boolean} locked */
  setLocked(locked) {
    const changed = locked !== this.locked;
    this.locked = locked;
    this.closed.hidden = !locked;
    this.bottom.el.hidden = locked;
    if (locked && this.inline) this.closeInline();
    const lock = this.tools.querySelector(".lt-lock");
    if (lock) lock.textContent = locked ? this.t.unlock : this.t.lock;
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

  /**
   * @param {string | null} parent @param {string} label @param {boolean} inline
   */
  formOptions(parent, label, inline) {
    return {
      parent,
      label,
      inline,
      name: remembered.name(),
      /** @param {CommentForm} form */
      onSubmit: (form) => this.submit(form),
      onCancel: () => this.closeInline(),
    };
  }

  closeInline() {
    const form = this.inline;
    this.inline = null;
    if (!form) return;
    const li = form.parent ? this.items.get(form.parent) : null;
    form.el.remove();
    const button = li && li.querySelector(":scope > article .lt-reply");
    if (button instanceof HTMLElement) button.focus();
  }

  /** @param {CommentForm} form */
  async submit(form) {
    if (!form.validate()) return;
    const values = form.values();
    // The same key for every retry of this submission: the server stores it once.
    form.key = form.key || newKey();
    form.busy(true);
    this.posting++;
    try {
      const answer = await this.api.post(values, form.key);
      remembered.setName(values.name);
      remembered.setOwn(answer.comment.id, { token: answer.edit_token, body: values.body, at: Date.now() });
      form.clear();
      if (form === this.inline) this.closeInline();
      this.place(answer.comment);
      // Its echo may have come over the socket first and been held as someone else's comment.
      if (this.held.items.delete(answer.comment.id)) this.showHeld();
      this.counted();
      const li = this.items.get(answer.comment.id);
      if (li) /** @type {HTMLElement} */ (li.firstChild).focus();
      this.say(this.t.posted);
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 409) this.setLocked(true);
        form.show(error.fields, error.status === 422 ? "" : error.message);
      } else form.show({}, this.t.failed);
    } finally {
      form.busy(false);
      if (!--this.posting && this.unannounced) {
        this.unannounced = false;
        if (this.held.size) this.say(this.t.fresh(this.held.size));
      }
    }
  }

  /** @param {string} id @param {string} action */
  async act(id, action) {
    try {
      if (action === "reply") return this.reply(id);
      if (action === "edit") return this.edit(id);
      if (action === "delete") {
        const own = remembered.own()[id];
        if (!own || !confirm(this.t.sure)) return;
        await this.api.remove(id, own.token);
        remembered.setOwn(id, null);
        this.drop(id);
      } else {
        /** @type {{comment: Comment}} */
        const answer = await this.api.moderate(id, action);
        if (answer.comment.status === "removed") this.drop(id);
        else this.place(answer.comment);
      }
      this.counted();
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  /**
   * A decision from the review queue, on a comment of any thread of the site: the queue and
   * this thread (if it is one of its comments) learn the outcome from their sockets.
   * @param {string} id @param {string} action
   */
  async review(id, action) {
    try {
      await this.api.moderate(id, action);
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  /** Open a reply form under a comment. @param {string} id */
  reply(id) {
    this.closeInline();
    const li = this.items.get(id);
    const c = this.thread.get(id);
    if (!li || !c) return;
    const label = c.author ? this.t.replyTo(c.author.name) : this.t.reply;
    const form = new CommentForm(this.t, this.formOptions(id, label, true));
    this.inline = form;
    li.firstChild?.after(form.el);
    form.inputs.body.focus();
  }

  /** Edit one's own comment in place. @param {string} id */
  edit(id) {
    const own = remembered.own()[id];
    const li = this.items.get(id);
    const body = li && li.querySelector(":scope > article .lt-body");
    if (!own || !body) return;
    const save = async (/** @type {string} */ value) => {
      try {
        /** @type {{comment: Comment}} */
        const answer = await this.api.edit(id, value, own.token);
        remembered.setOwn(id, { ...own, body: value });
        this.thread.put(answer.comment);
        this.redraw(id);
      } catch (error) {
        this.status.textContent = error instanceof Error ? error.message : String(error);
      }
    };
    const { form, focus } = editForm(this.t, own.body, save, () => this.redraw(id));
    body.replaceWith(form);
    focus();
  }

  async lock() {
    try {
      await this.api.lock(!this.locked);
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    }
  }
}
