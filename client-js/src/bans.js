// The site's bans on the moderators' page, newest first, each with a Lift button; read again
// whenever the moderation socket says they changed (`bans.changed`, whoever made or lifted one).

import { describe, whom } from "./ban_rules.js";
import { h } from "./dom.js";
import { bans, lift } from "./moderator_api.js";
import { exact } from "./time.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./types.js").Ban} Ban */
/** @typedef {import("./strings.js").Strings & import("./strings.js").ModeratorStrings} T */

export class Bans {
  /** @param {T} t @param {Api} api @param {string} lang */
  constructor(t, api, lang) {
    this.t = t;
    this.api = api;
    this.lang = lang;
    this.loading = false;
    // Asked again while a read was under way: read once more after it.
    this.wanted = false;
    this.heading = h("h3", { id: "lt-bans-h", tabindex: -1 }, t.bans(0));
    this.status = h("p", { class: "lt-audit-status", role: "status" });
    this.empty = h("p", { class: "lt-note" }, t.noBans);
    this.list = h("ol", { class: "lt-queue" });
    this.el = h("section", { class: "lt-bans", "aria-labelledby": this.heading.id }, this.heading, this.status, this.empty, this.list);
  }

  /** Read the site's bans (again); an error is shown and the list kept. */
  async load() {
    this.wanted = true;
    if (this.loading) return;
    this.loading = true;
    try {
      while (this.wanted) {
        this.wanted = false;
        this.render((await bans(this.api)).bans);
      }
    } catch (error) {
      this.say(error instanceof Error ? error.message : String(error));
    } finally {
      this.loading = false;
    }
  }

  /** @param {string} text */
  say(text) {
    this.status.textContent = text;
  }

  /** @param {Ban[]} all */
  render(all) {
    this.list.replaceChildren(...all.map((ban) => this.row(ban)));
    this.counted();
  }

  counted() {
    const n = this.list.children.length;
    this.heading.textContent = this.t.bans(n);
    this.empty.hidden = n > 0;
  }

  /** @param {Ban} ban */
  row(ban) {
    const { t, lang } = this;
    const li = h(
      "li",
      { "data-id": ban.id, "data-key": ban.key, "data-mode": ban.mode },
      h(
        "p",
        { class: "lt-meta" },
        h("strong", {}, describe(ban, t, lang)),
        h("small", {}, t.byAt(ban.by, exact(new Date(ban.at), lang))),
      ),
      ban.reason && h("p", {}, ban.reason),
    );
    const button = h("button", { type: "button", class: "lt-link lt-lift", "aria-label": t.liftNamed(whom(ban, t)) }, t.lift);
    button.addEventListener("click", () => this.lift(ban, li));
    li.append(h("p", { class: "lt-actions" }, button));
    return li;
  }

  /** Lift a ban; the focus goes on to the next one's Lift (or the heading, if it was the last).
   * @param {Ban} ban @param {HTMLLIElement} li */
  async lift(ban, li) {
    try {
      await lift(this.api, ban.id);
    } catch (error) {
      return this.say(error instanceof Error ? error.message : String(error));
    }
    const next = /** @type {HTMLElement | null} */ ((li.nextElementSibling || li.previousElementSibling)?.querySelector(".lt-lift") || null);
    const root = li.getRootNode();
    const focused = root instanceof ShadowRoot && li.contains(root.activeElement);
    li.remove();
    this.counted();
    this.say(this.t.lifted);
    if (focused) (next || this.heading).focus();
    this.load();
  }
}
