// The moderators' "Ban…" form under a comment (in the queue or the thread): what (ban, suspend,
// shadow-ban), by what (the server's best pick, or account, email, address), whether to remove
// the person's comments, and why. Keyboard first: it takes the focus when it opens and gives it
// back when it closes (Cancel, Escape, or once the ban is made).

import { MODES, REMOVE, WHO, banBody, made } from "./ban_rules.js";
import { h } from "./dom.js";
import { ban, fieldsOf } from "./moderator_api.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./strings.js").Strings & import("./strings.js").ModeratorStrings} T */

let forms = 0;

/**
 * Open the ban form for comment `id` inside `host`, after `after`; if one is open there, go back to it.
 * @param {{
 *   t: T, lang: string, api: Api, id: string, name: string, host: HTMLElement, after: Element,
 *   opener: () => Element | null, done: (message: string) => void,
 * }} o `opener` finds the button that opened it (it may have been redrawn meanwhile); `done`
 *   is told what was made
 */
export function openBan(o) {
  const open = o.host.querySelector(":scope > .lt-ban-form input");
  if (open instanceof HTMLElement) return open.focus();
  const { t } = o;
  const n = ++forms;
  const error = h("p", { class: "lt-error", role: "alert" });
  const reason = h("input", { id: `lt-ban${n}-reason`, maxlength: 500, autocomplete: "off" });
  const button = h("button", { type: "submit", class: "lt-btn" }, t.banSubmit);
  /** @param {string} legend @param {string} name @param {ReadonlyArray<readonly [string, keyof T]>} choices */
  const group = (legend, name, choices) =>
    h(
      "fieldset",
      {},
      h("legend", {}, legend),
      ...choices.map(([value, key], i) =>
        h("label", { class: "lt-check" }, h("input", { type: "radio", name: `${name}${n}`, value, checked: !i }), " ", String(t[key])),
      ),
    );
  /** @param {boolean} back whether the focus goes back to the opener (not after a ban: `done` says where) */
  const close = (back) => {
    form.remove();
    const opener = o.opener();
    if (back && opener instanceof HTMLElement) opener.focus();
  };
  const form = h(
    "form",
    { class: "lt-ban-form", novalidate: true, "aria-label": t.banTitle(o.name) },
    group(t.banMode, "mode", MODES),
    group(t.banWho, "who", WHO),
    group(t.banRemove, "remove", REMOVE),
    h("label", { for: reason.id }, t.banReason, reason),
    error,
    h("div", { class: "lt-actions" }, button, h("button", { type: "button", class: "lt-link", onclick: () => close(true) }, t.cancel)),
  );
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    event.preventDefault();
    close(true);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    /** @param {string} name */
    const value = (name) => /** @type {HTMLInputElement} */ (form.querySelector(`input[name="${name}${n}"]:checked`)).value;
    const choice = { mode: value("mode"), who: value("who"), remove: value("remove"), reason: reason.value };
    button.disabled = true;
    try {
      const answer = await ban(o.api, banBody(o.id, choice, Date.now()));
      close(false);
      o.done(made(answer, t, o.lang));
    } catch (problem) {
      // The server says what is wrong ("This comment's author has no account to ban"); its
      // field notes ("required") only where it gave no message.
      const fields = Object.values(fieldsOf(problem)).join(" ");
      error.textContent = (problem instanceof Error && problem.message) || fields || t.notSent;
    } finally {
      button.disabled = false;
    }
  });
  o.after.after(form);
  /** @type {HTMLElement} */ (form.querySelector("input")).focus();
}
