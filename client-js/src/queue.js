// The moderators' queue: held and flagged comments of the whole site, each with why it is
// there, kept live over WS /ws/v1/moderation (the token goes in the first message: a browser
// cannot set headers on a websocket, and URLs end up in logs).

import { delay } from "./backoff.js";
import { h, safeHtml } from "./dom.js";

/** @typedef {import("./types.js").QueueItem} QueueItem */
/** @typedef {import("./strings.js").Strings & import("./strings.js").ModeratorStrings} T */

export class Queue {
  /**
   * @param {T} t
   * @param {string} url the moderation socket's URL
   * @param {string} token
   * @param {{
   *   act: (id: string, action: string) => Promise<void>,
   *   ban: (item: QueueItem, li: HTMLLIElement) => void,
   *   heard: (frame: {type: string}) => void,
   * }} on `act` decides on an item, `ban` opens the ban form on it, `heard` is told every frame
   *   once handled (`queue` after each reconnection, `bans.changed`, …)
   */
  constructor(t, url, token, on) {
    this.t = t;
    this.url = url;
    this.token = token;
    this.on = on;
    this.attempt = 0;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
    this.list = h("ol", { class: "lt-queue" });
    this.heading = h("h3", {}, t.queue(0));
    this.el = h("section", { class: "lt-review", "aria-label": t.queue(0) }, this.heading, this.list);
  }

  open() {
    const ws = new WebSocket(this.url);
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.token }));
    ws.onmessage = (event) => {
      /** @type {{type: string, items?: QueueItem[], item?: QueueItem, id?: string}} */
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (frame.type === "queue") {
        this.attempt = 0;
        this.items.clear();
        this.list.replaceChildren();
        for (const item of frame.items || []) this.put(item);
      } else if (frame.type === "queue.added" && frame.item) this.put(frame.item);
      else if (frame.type === "queue.removed" && frame.id) this.drop(frame.id);
      this.count();
      this.on.heard(frame);
    };
    // 1008: the token was refused; reconnecting would be refused again.
    ws.onclose = (event) => {
      if (event.code !== 1008) setTimeout(() => this.open(), delay(this.attempt++));
    };
  }

  /** Insert or replace an entry (the same comment may arrive twice). @param {QueueItem} item */
  put(item) {
    const c = item.comment;
    // A held edit of a published comment: the text shown is the new one, not yet public.
    const state = item.state === "flagged" ? this.t.flagged : item.edit ? this.t.heldEdit : this.t.held;
    // The server's actions table says what each item offers (server/moderation/actions.py).
    const actions = item.actions || [];
    const li = h(
      "li",
      { "data-id": c.id, "data-state": item.state },
      h(
        "p",
        { class: "lt-meta" },
        h("strong", {}, state),
        c.author ? c.author.name : "",
        h("span", { class: "lt-why" }, item.reason || ""),
        h("small", {}, `${item.thread}${item.by ? ` · ${item.by}` : ""}`),
      ),
      h("div", { class: "lt-body" }, safeHtml(c.html || "")),
      h(
        "p",
        { class: "lt-actions" },
        ...actions.map((action) =>
          h(
            "button",
            { type: "button", class: "lt-link", "data-action": action, onclick: () => this.on.act(c.id, action) },
            label(this.t, action),
          ),
        ),
        h("button", { type: "button", class: "lt-link lt-ban", onclick: () => this.on.ban(item, li) }, this.t.banOpen),
      ),
    );
    const old = this.items.get(c.id);
    if (old) old.replaceWith(li);
    else this.list.append(li);
    this.items.set(c.id, li);
  }

  /** @param {string} id */
  drop(id) {
    this.items.get(id)?.remove();
    this.items.delete(id);
  }

  count() {
    this.heading.textContent = this.t.queue(this.items.size);
  }
}

/** An action's button label in the reader's language (its name, if the strings lack one).
 * @param {object} t @param {string} action */
function label(t, action) {
  const found = /** @type {Record<string, unknown>} */ (t)[action];
  return typeof found === "string" ? found : action;
}
