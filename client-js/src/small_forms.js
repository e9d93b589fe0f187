// A small form: editing one's own comment in place (a moderator's token: moderation.js).

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
