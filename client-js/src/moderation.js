// The moderators' page around the thread: asking for the token, the toolbar, the site's queue.

import { Audit } from "./audit.js";
import { h } from "./dom.js";
import { Queue } from "./queue.js";
import { tokenForm } from "./small_forms.js";
import { remembered } from "./storage.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./strings.js").Strings} Strings */

/**
 * Ask for a moderator token in place of the thread; `retry` runs once one is given.
 * @param {ShadowRoot} root @param {Strings} t @param {string} site
 * @param {string} problem why the last one failed ("" the first time)
 * @param {() => void} retry
 */
export function askToken(root, t, site, problem, retry) {
  const { form, focus } = tokenForm(t, problem, (token) => {
    remembered.setModerator(site, token);
    retry();
  });
  root.replaceChildren(form);
  focus();
}

/**
 * The toolbar's buttons: close (or reopen) the thread, name it, and forget the token.
 * @param {Strings} t @param {string} site @param {() => void} onLock @param {() => void} onRetitle
 */
export function toolbar(t, site, onLock, onRetitle) {
  const forget = () => {
    remembered.setModerator(site, null);
    location.reload();
  };
  return [
    h("button", { type: "button", class: "lt-link lt-lock", onclick: onLock }),
    h("button", { type: "button", class: "lt-link lt-retitle", onclick: onRetitle }, t.retitle),
    h("button", { type: "button", class: "lt-link", onclick: forget }, t.forget),
  ];
}

/**
 * The site's review queue, live, before `section`. A decision on a comment of any thread of
 * the site: the queue and the thread (if it is one of its comments) learn the outcome from
 * their sockets.
 * Below it, the site's decisions (the audit log).
 * @param {Strings} t @param {string} lang @param {Api} api @param {HTMLElement} section
 * @param {(error: unknown) => void} onError
 */
export function openQueue(t, lang, api, section, onError) {
  if (!api.moderator) return;
  const url = `${api.base.replace(/^http/, "ws")}/ws/v1/moderation?${new URLSearchParams({ site: api.site })}`;
  const review = async (/** @type {string} */ id, /** @type {string} */ action) => {
    try {
      await api.moderate(id, action);
    } catch (error) {
      onError(error);
    }
  };
  const queue = new Queue(t, url, api.moderator, review);
  section.before(queue.el, new Audit(t, api, lang).el);
  queue.open();
}
