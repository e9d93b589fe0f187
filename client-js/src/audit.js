// The moderators' record of decisions (GET /api/v1/audit), newest first. The API pages oldest
// first, so every page after the last one seen is fetched (a refresh fetches only the new
// ones), and "Load more" shows older ones a screenful at a time.

import { h } from "./dom.js";
import { exact } from "./time.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./types.js").AuditEntry} AuditEntry */
/** @typedef {import("./strings.js").Strings} Strings */

/** Entries shown at first, and added by each "Load more". */
export const SHOWN = 50;

export class Audit {
  /** @param {Strings} t @param {Api} api @param {string} lang */
  constructor(t, api, lang) {
    this.t = t;
    this.api = api;
    this.lang = lang;
    /** @type {AuditEntry[]} newest first */
    this.entries = [];
    /** the last entry's id: the next fetch starts after it */
    this.after = 0;
    this.shown = 0;
    this.loaded = false;
    this.busy = false;
    this.list = h("ol", { class: "lt-queue" });
    this.status = h("p", { class: "lt-audit-status", role: "status" });
    this.more = h("button", { type: "button", class: "lt-link", hidden: true, onclick: () => this.show(SHOWN) }, t.more);
    this.body = h(
      "div",
      { id: "lt-audit", hidden: true },
      h("button", { type: "button", class: "lt-link", onclick: () => this.load() }, t.refresh),
      this.status,
      this.list,
      this.more,
    );
    this.toggle = h(
      "button",
      { type: "button", class: "lt-link", "aria-expanded": "false", "aria-controls": "lt-audit", onclick: () => this.flip() },
      t.decisions,
    );
    this.el = h("section", { class: "lt-audit", "aria-label": t.decisions }, h("h3", {}, this.toggle), this.body);
  }

  /** Show or hide the decisions; the first showing loads them. */
  flip() {
    const open = this.body.hidden;
    this.body.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open && !this.loaded) this.load();
  }

  /** Fetch every decision after the last one seen and put them on top. */
  async load() {
    // One fetch at a time: two from the same `after` would list its entries twice.
    if (this.busy) return;
    this.busy = true;
    /** @type {AuditEntry[]} */
    const fresh = [];
    try {
      for (let after = /** @type {number | null} */ (this.after); after !== null; ) {
        const page = await this.api.audit(after);
        fresh.push(...page.entries);
        after = page.next;
      }
      this.status.textContent = "";
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    }
    // What came before an error is kept: the next refresh goes on after it.
    const first = !this.loaded;
    this.loaded = true;
    this.busy = false;
    if (fresh.length) this.after = fresh[fresh.length - 1].id;
    this.entries.unshift(...fresh.reverse());
    // The newest screenful at first; after a refresh, the new ones on top of those shown.
    this.show(first ? SHOWN : fresh.length);
  }

  /** Show `more` entries than now (as many as there are). @param {number} more */
  show(more) {
    this.shown = Math.min(this.shown + more, this.entries.length);
    this.list.replaceChildren(...this.entries.slice(0, this.shown).map((e) => this.row(e)));
    this.more.hidden = this.shown >= this.entries.length;
  }

  /** @param {AuditEntry} e */
  row(e) {
    const t = this.t;
    const when = new Date(e.at * 1000);
    const what = e.comment_id ? t.onComment(e.comment_id, e.thread || "") : e.thread ? t.onThread(e.thread) : e.subject;
    return h(
      "li",
      { "data-id": e.id, "data-action": e.action },
      h(
        "p",
        { class: "lt-meta" },
        h("time", { datetime: when.toISOString() }, exact(when, this.lang)),
        h("strong", {}, e.by),
        h("span", {}, e.action),
        h("span", {}, what),
      ),
      e.reason && h("p", {}, e.reason),
    );
  }
}
