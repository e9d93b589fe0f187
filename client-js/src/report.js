// A reader reports someone else's comment to the site's moderators: why (one of four reasons,
// with details, needed for "other"). Whether or not the server counted it (a second report by
// the same reader does not count), the reader is thanked the same way.

import { ApiError, refused } from "./api.js";
import { h } from "./dom.js";

/** @typedef {import("./widget.js").Widget} Widget */

/** The server's reasons, with the key of each one's label in strings.js. */
const REASONS = /** @type {const} */ ([
  ["spam", "spam"],
  ["abuse", "abuse"],
  ["off_topic", "offTopic"],
  ["other", "other"],
]);

let forms = 0;

/** Open the report form under comment `id` (or go back to the one already open). @param {Widget} w @param {string} id */
export function report(w, id) {
  const li = w.items.get(id);
  if (!li) return;
  const open = li.querySelector(":scope > .lt-report-form input");
  if (open instanceof HTMLElement) return open.focus();
  li.querySelector(":scope > .lt-note")?.remove();
  const { t } = w;
  const n = ++forms;
  const error = h("p", { class: "lt-error", role: "alert", id: `lt-report-${n}` });
  const text = h("textarea", { rows: 2, maxlength: 500, "aria-describedby": error.id });
  const button = h("button", { type: "submit", class: "lt-btn" }, t.send);
  const close = () => {
    form.remove();
    const again = li.querySelector(":scope > article .lt-report");
    if (again instanceof HTMLElement) again.focus();
  };
  const form = h(
    "form",
    { class: "lt-report-form", novalidate: true, "aria-label": t.report },
    h(
      "fieldset",
      {},
      h("legend", {}, t.reportWhy),
      ...REASONS.map(([value, key], i) =>
        h("label", { class: "lt-check" }, h("input", { type: "radio", name: "reason", value, checked: !i }), " ", t[key]),
      ),
    ),
    h("label", {}, t.reportText, text),
    error,
    h("div", { class: "lt-actions" }, button, h("button", { type: "button", class: "lt-link", onclick: close }, t.cancel)),
  );
  /** @param {string} message @param {boolean} field the details are what is wrong */
  const fail = (message, field) => {
    error.textContent = message;
    text.setAttribute("aria-invalid", String(field));
    if (field) text.focus();
  };
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = /** @type {HTMLInputElement} */ (form.querySelector("input:checked")).value;
    const detail = text.value.trim();
    if (reason === "other" && !detail) return fail(t.reportNeedsText, true);
    button.disabled = true;
    try {
      await w.api.report(id, reason, detail);
      const thanks = h("p", { class: "lt-note", role: "status", tabindex: -1 }, t.reported);
      form.replaceWith(thanks);
      thanks.focus();
    } catch (problem) {
      if (refused(problem)) return w.refuse();
      const fields = problem instanceof ApiError ? problem.fields : {};
      const message = Object.values(fields).join(" ") || (problem instanceof ApiError && problem.message) || t.notSent;
      fail(message, "text" in fields);
    } finally {
      button.disabled = false;
    }
  });
  li.firstChild?.after(form);
  /** @type {HTMLElement} */ (form.querySelector("input")).focus();
}
