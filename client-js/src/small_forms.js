// The two small forms: editing one's own comment in place, and a moderator's token.

import { h } from "./dom.js";

/** @typedef {import("./strings.js").Strings} Strings */

/**
 * A textarea with Save / Cancel, prefilled with the comment's source text.
 * @param {Strings} t
 * @param {string} source
 * @param {(text: string) => Promise<void>} onSave
 * @param {() => void} onCancel
 */
export function editForm(t, source, onSave, onCancel) {
  const text = h("textarea", { "aria-label": t.edit, rows: 4, maxlength: 5000 });
  text.value = source;
  const form = h(
    "form",
    { class: "lt-form" },
    text,
    h(
      "div",
      { class: "lt-actions" },
      h("button", { type: "submit", class: "lt-btn" }, t.save),
      h("button", { type: "button", class: "lt-link", onclick: onCancel }, t.cancel),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (value) onSave(value);
  });
  return { form, focus: () => text.focus() };
}

/**
 * The moderators' page before a token is known: one password field.
 * @param {Strings} t
 * @param {string} problem shown above the button (e.g. the last token was refused)
 * @param {(token: string) => void} onToken
 */
export function tokenForm(t, problem, onToken) {
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
