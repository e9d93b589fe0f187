// Reactions under each published comment: a Like button with its count, the other kinds as
// small chips once anyone chose them, and "React" opening a picker of those kinds. Counts change
// in place: frames come several times a second on a busy thread, and a redraw would take the
// reader's focus.

import { h } from "./dom.js";
import { KINDS, Tally } from "./reactions.js";
import { remembered } from "./storage.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Counts} Counts */
/** @typedef {import("./widget.js").Widget} Widget */

/** @type {Record<string, string>} */
const EMOJI = { like: "\u{1F44D}", love: "\u2764\uFE0F", laugh: "\u{1F602}", wow: "\u{1F62E}", sad: "\u{1F622}" };
// How long a refused reaction's reason stays in the status line.
const NOTICE_MS = 5000;

export class Reacting {
  /** @param {Widget} w */
  constructor(w) {
    this.w = w;
    this.tally = new Tally();
    /** @type {Map<string, HTMLElement>} each drawn comment's bar, by comment id */
    this.bars = new Map();
  }

  /** A comment's bar. The first class of each button names it (a redraw keeps focus by it). @param {Comment} c */
  bar(c) {
    const id = c.id;
    /** @param {string} kind @param {string} cls */
    const button = (kind, cls) =>
      h("button", { type: "button", class: cls, "data-kind": kind, onclick: () => this.toggle(id, kind) }, EMOJI[kind]);
    /** @param {boolean} show */
    const open = (show) => {
      pick.hidden = !show;
      more.setAttribute("aria-expanded", String(show));
      /** @type {HTMLElement} */ ((show && pick.firstElementChild) || more).focus();
    };
    const others = KINDS.slice(1);
    const pick = h(
      "span",
      { class: "lt-pick", hidden: true, onkeydown: (e) => /** @type {KeyboardEvent} */ (e).key === "Escape" && open(false) },
      ...others.map((kind) => button(kind, `lt-rp-${kind} lt-rp`)),
    );
    pick.addEventListener("click", () => open(false));
    const more = h("button", { type: "button", class: "lt-rx-more lt-chip", "aria-expanded": "false", onclick: () => open(pick.hidden === true) }, this.w.t.react);
    const bar = h(
      "span",
      { class: "lt-reacts", role: "group", "aria-label": this.w.t.reactions },
      ...KINDS.map((kind) => button(kind, `lt-rx-${kind} lt-chip`)),
      more,
      pick,
    );
    this.bars.set(id, bar);
    this.paint(id);
    return bar;
  }

  /** Show a comment's counts and the reader's pressed state. @param {string} id */
  paint(id) {
    const bar = this.bars.get(id);
    const { t } = this.w;
    for (const b of bar ? bar.querySelectorAll("button[data-kind]") : []) {
      const kind = /** @type {HTMLElement} */ (b).dataset.kind || "";
      const n = this.tally.count(id, kind);
      const on = this.tally.pressed(id, kind);
      b.setAttribute("aria-pressed", String(on));
      b.setAttribute("aria-label", `${t.kinds[kind]}, ${n}`);
      if (b.classList.contains("lt-rp")) continue;
      // Like always shows; the other kinds once anyone chose them (else from the picker).
      const like = kind === "like";
      /** @type {HTMLElement} */ (b).hidden = !like && !n && !on;
      b.textContent = [EMOJI[kind], like && t.kinds.like, n].filter(Boolean).join(" ");
    }
  }

  /** Counts from a frame; whether any was newer than what was shown. @param {Counts[]} list */
  counts(list) {
    let changed = false;
    for (const r of list) {
      if (!this.tally.take(r.id, r.version, r.counts)) continue;
      changed = true;
      this.paint(r.id);
    }
    return changed;
  }

  /** The reader's click: shown at once, then as the server counted it (or taken back, with the
   * server's reason for a while). @param {string} id @param {string} kind */
  async toggle(id, kind) {
    const { w, tally } = this;
    const { on, undo } = tally.toggle(id, kind);
    this.paint(id);
    try {
      const answer = await w.api.react(id, kind, on, remembered.reader());
      tally.take(answer.id, answer.version, answer.counts);
      remembered.setReacted(w.api.site, w.api.thread);
    } catch (error) {
      undo();
      w.trouble(error instanceof Error && !error.message ? new Error(w.t.notSent) : error);
      const said = w.status.textContent;
      setTimeout(() => {
        if (w.status.textContent === said) w.status.textContent = "";
      }, NOTICE_MS);
    }
    this.paint(id);
  }

  /** The reader's own reactions, to show them pressed: asked only of an account, or where this
   * browser has reacted before (most readers never react: no request for them). */
  async mine() {
    const { w, tally } = this;
    tally.mine = new Map();
    if (w.api.account || remembered.reacted(w.api.site, w.api.thread)) {
      try {
        const { mine } = await w.api.reactions(remembered.reader());
        for (const [id, kinds] of Object.entries(mine)) tally.mine.set(id, new Set(kinds));
      } catch {
        // Shown unpressed; a click still sets the reaction as the reader means it.
      }
    }
    for (const id of this.bars.keys()) this.paint(id);
  }
}
