// The moderators' page around the thread (bundled into moderate.js, never into the readers'
// embed.js): asking for the token, the toolbar, a moderator's buttons on each comment, and above
// the thread the site's review queue, its bans and its decisions.

import { Audit } from "./audit.js";
import { openBan } from "./ban_form.js";
import { Bans } from "./bans.js";
import { h } from "./dom.js";
import { fieldsOf, lock, moderate, retitle, statusOf } from "./moderator_api.js";
import css from "./moderate.css";
import { Queue } from "./queue.js";
import { remembered } from "./storage.js";
import { pickModerator } from "./strings.js";

/** @typedef {import("./strings.js").Strings & import("./strings.js").ModeratorStrings} T */
/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Desk} Desk */
/** @typedef {import("./widget.js").Widget} Widget */

/**
 * The moderators' desk for widget `w` (what the widget asks of it: types.js, Desk).
 * @param {Widget} w
 * @returns {Desk}
 */
export function desk(w) {
  /** @type {T} */
  const t = { ...w.t, ...pickModerator(w.lang) };
  const { api } = w;
  const site = api.site;
  // The moderators' page is ours (no host page's CSP to get past): constructable sheets only.
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  w.root.adoptedStyleSheets = [...w.root.adoptedStyleSheets, sheet];
  const bans = new Bans(t, api, w.lang);

  /** @param {string} problem why the last token failed ("" the first time) */
  const askToken = (problem) => {
    const { form, focus } = tokenForm(t, problem, (token) => {
      remembered.setModerator(site, token);
      w.start();
    });
    w.root.replaceChildren(form);
    focus();
  };

  /**
   * The ban form for comment `id`; once the ban is made, the focus goes back to the button that
   * opened it or, if that is gone (the ban removed the comment), to the bans, which say what was made.
   * @param {Comment} c @param {HTMLElement} host @param {Element | null} after @param {() => Element | null} opener
   */
  const banFrom = (c, host, after, opener) => {
    if (!after) return;
    const done = (/** @type {string} */ message) => {
      bans.say(message);
      const back = opener();
      (back instanceof HTMLElement && back.isConnected ? back : bans.heading).focus();
    };
    openBan({ t, lang: w.lang, api, id: c.id, name: c.author ? c.author.name : "", host, after, opener, done });
  };

  /** A decision on a comment of this thread, shown at once (its frame will say the same). @param {string} id @param {string} action */
  const decide = async (id, action) => {
    try {
      const answer = await moderate(api, id, action);
      if (answer.comment.status === "removed") w.events.drop(id);
      else w.place(answer.comment);
      w.counted();
    } catch (error) {
      w.trouble(error);
    }
  };

  const relock = async () => {
    try {
      await lock(api, !w.locked);
    } catch (error) {
      w.trouble(error);
    }
  };

  /** A moderator names the thread (what reply mails call it and link to); plain prompts, as
   * this is the moderators' page only. A refused value says what is wrong with it. */
  const rename = async () => {
    const title = prompt(t.articleTitle, w.about.title);
    const url = title === null ? null : prompt(t.articleUrl, w.about.url);
    if (title === null || url === null) return;
    try {
      const { title: named, url: at } = await retitle(api, title, url);
      w.about = { title: named, url: at };
      w.status.textContent = "";
    } catch (error) {
      const fields = Object.values(fieldsOf(error)).join(" ");
      if (fields) w.status.textContent = fields;
      else w.trouble(error);
    }
  };

  return {
    ready() {
      const token = remembered.moderator(site);
      if (token) api.moderator = token;
      else askToken("");
      return !!token;
    },

    refused(error) {
      const status = statusOf(error);
      if (status !== 401 && status !== 403) return false;
      remembered.setModerator(site, null);
      askToken(t.badToken);
      return true;
    },

    /** The site's queue, live, then its bans and decisions, above the thread. A decision in the
     * queue may be on any thread of the site: the thread learns the outcome from its socket. */
    open() {
      if (!api.moderator) return;
      const url = `${api.base.replace(/^http/, "ws")}/ws/v1/moderation?${new URLSearchParams({ site })}`;
      const queue = new Queue(t, url, api.moderator, {
        act: (id, action) => moderate(api, id, action).then(() => {}, (error) => w.trouble(error)),
        ban: (item, li) =>
          banFrom(item.comment, li, li.querySelector(":scope > .lt-actions"), () => li.querySelector(":scope > .lt-actions .lt-ban")),
        // Bans made or lifted by anyone, and whatever changed while the socket was down.
        heard: (frame) => {
          if (frame.type === "queue" || frame.type === "bans.changed") bans.load();
        },
      });
      w.section.before(queue.el, bans.el, new Audit(t, api, w.lang).el);
      queue.open();
      bans.load();
    },

    tools() {
      const forget = () => {
        remembered.setModerator(site, null);
        location.reload();
      };
      return [
        h("button", { type: "button", class: "lt-link lt-lock", onclick: relock }),
        h("button", { type: "button", class: "lt-link lt-retitle", onclick: rename }, t.retitle),
        h("button", { type: "button", class: "lt-link", onclick: forget }, t.forget),
      ];
    },

    locked() {
      const button = w.tools.querySelector(".lt-lock");
      if (button) button.textContent = w.locked ? t.unlock : t.lock;
    },

    actions(c) {
      const tomb = c.status === "removed" && c.html === null;
      /** @param {string} action @param {string} label @param {() => void} onclick */
      const button = (action, label, onclick) => h("button", { type: "button", class: `lt-link lt-${action}`, onclick }, label);
      /** @param {string} action @param {string} label */
      const decision = (action, label) => button(action, label, () => decide(c.id, action));
      /** @type {Node[]} */
      const out = [];
      if (c.status === "visible") out.push(decision("remove", t.remove));
      if (c.status === "removed" && !tomb) out.push(decision("restore", t.restore));
      if (c.status === "pending") out.push(decision("approve", t.approve), decision("reject", t.reject));
      const ban = () => {
        const li = w.items.get(c.id);
        if (li) banFrom(c, li, li.querySelector(":scope > article"), () => li.querySelector(":scope > article .lt-ban"));
      };
      if (!tomb) out.push(button("ban", t.banOpen, ban));
      return out;
    },
  };
}

/**
 * The moderators' page before a token is known: one password field.
 * @param {T} t
 * @param {string} problem shown above the button (e.g. the last token was refused)
 * @param {(token: string) => void} onToken
 */
function tokenForm(t, problem, onToken) {
  const input = h("input", { id: "lt-token", type: "password", autocomplete: "off", required: true });
  const form = h(
    "form",
    { class: "lt-form" },
    h("label", { for: "lt-token" }, t.token, input),
    h("p", { class: "lt-error", role: "alert" }, problem),
    h("div", {}, h("button", { type: "submit", class: "lt-btn" }, t.useToken)),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) onToken(input.value.trim());
  });
  return { form, focus: () => input.focus() };
}
