// The moderators' record of decisions (GET /api/v1/audit), newest first: a screenful from the
// latest, "Load more" for the one before it, and Refresh for what was decided since.

import { h } from "./dom.js";
import { audit } from "./moderator_api.js";
import { exact } from "./time.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./types.js").AuditEntry} AuditEntry */
/** @typedef {import("./strings.js").Strings & import("./strings.js").ModeratorStrings} Strings */

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
    /** the newest entry's id: a refresh fetches those after it */
    this.after = 0;
    /** where older entries go on from (the API's `next`); null once there are none */
    this.older = /** @type {number | null} */ (null);
    this.loaded = false;
    this.busy = false;
    this.list = h("ol", { class: "lt-queue" });
    this.status = h("p", { class: "lt-audit-status", role: "status" });
    this.more = h("button", { type: "button", class: "lt-link", hidden: true, onclick: () => this.earlier() }, t.older);
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

  /** The first screenful from the latest, or (once loaded) what was decided since. */
  async load() {
    if (!this.loaded) return this.run(async () => {
      const page = await audit(this.api, { before: null, limit: SHOWN });
      this.loaded = true;
      this.add(page.entries, page.next);
      if (page.entries.length) this.after = page.entries[0].id;
    });
    return this.run(async () => {
      /** @type {AuditEntry[]} */
      const fresh = [];
      for (let after = /** @type {number | null} */ (this.after); after !== null; ) {
        const page = await audit(this.api, { after });
        fresh.push(...page.entries);
        after = page.next;
      }
      if (fresh.length) this.after = fresh[fresh.length - 1].id;
      this.entries.unshift(...fresh.reverse());
      this.render();
    });
  }

  /** The screenful before the oldest shown. */
  earlier() {
    return this.run(async () => {
      const page = await audit(this.api, { before: this.older, limit: SHOWN });
      this.add(page.entries, page.next);
    });
  }

  /** Older entries below those shown; `next` is where the ones before them start. @param {AuditEntry[]} older @param {number | null} next */
  add(older, next) {
    this.entries.push(...older);
    this.older = next;
    this.render();
  }

  /** One fetch at a time (two from one cursor would list its entries twice); an error is shown
   * and what came before it kept. @param {() => Promise<void>} step */
  async run(step) {
    if (this.busy) return;
    this.busy = true;
    try {
      await step();
      this.status.textContent = "";
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = false;
    }
  }

  render() {
    this.list.replaceChildren(...this.entries.map((e) => this.row(e)));
    this.more.hidden = this.older === null;
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
