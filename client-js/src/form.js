// The comment form: labelled fields, the seed's validation messages, the server's 422 messages
// field by field.

import { h } from "./dom.js";

/** @typedef {import("./strings.js").Strings} Strings */
/** @typedef {import("./types.js").Account} Account */
/** @typedef {"body" | "name" | "email" | "url"} Field */

let forms = 0;

export class CommentForm {
  /**
   * @param {Strings} t
   * @param {{parent: string | null, label: string, name: string, inline: boolean, me: Account | null,
   *          onSubmit: (form: CommentForm) => void, onCancel: () => void}} options
   */
  constructor(t, options) {
    const id = `lt-f${++forms}`;
    this.t = t;
    this.parent = options.parent;
    /** @type {string | null} Idempotency-Key of the submission being retried, if any */
    this.key = null;
    /** @type {Record<Field, HTMLInputElement | HTMLTextAreaElement>} */
    this.inputs = {
      body: h("textarea", { id: `${id}-body`, name: "body", rows: 4, maxlength: 5000 }),
      name: h("input", { id: `${id}-name`, name: "name", autocomplete: "name", maxlength: 50 }),
      email: h("input", { id: `${id}-email`, name: "email", type: "email", autocomplete: "email" }),
      url: h("input", { id: `${id}-url`, name: "url", type: "url", autocomplete: "url" }),
    };
    this.inputs.name.value = options.name;
    /** Reply mails: only meaningful with an email (the server ignores it without one). */
    this.notify = h("input", { id: `${id}-notify`, name: "notify", type: "checkbox" });
    /** @type {Record<Field, HTMLElement>} */
    this.errors = {
      body: h("p", { id: `${id}-body-e`, class: "lt-error" }),
      name: h("p", { id: `${id}-name-e`, class: "lt-error" }),
      email: h("p", { id: `${id}-email-e`, class: "lt-error" }),
      url: h("p", { id: `${id}-url-e`, class: "lt-error" }),
    };
    this.general = h("p", { class: "lt-error", role: "alert" });
    this.button = h("button", { type: "submit", class: "lt-btn" }, t.post);
    /** @param {Field} f @param {string} text */
    const field = (f, text) => {
      // Named by its caption alone: the error inside the label is its description, not its name.
      const caption = h("span", { id: `${this.inputs[f].id}-l` }, text);
      this.inputs[f].setAttribute("aria-labelledby", caption.id);
      return h("label", { for: this.inputs[f].id }, caption, this.inputs[f], this.errors[f]);
    };
    // A signed-in reader's name comes from their account: these fields give way to "Signed in as".
    this.row = h("div", { class: "lt-row" }, field("name", t.name), field("email", t.email), field("url", t.website));
    this.who = h("p", { class: "lt-who" });
    /** @type {Account | null} */
    this.me = null;
    this.el = h(
      "form",
      { class: "lt-form", novalidate: true, "aria-label": options.label },
      !options.inline && h("h3", {}, options.label),
      field("body", t.comment),
      this.who,
      this.row,
      h("label", { class: "lt-check", for: this.notify.id }, this.notify, " ", t.notify),
      this.general,
      h(
        "div",
        { class: "lt-actions" },
        this.button,
        options.inline && h("button", { type: "button", class: "lt-link", onclick: () => options.onCancel() }, t.cancel),
      ),
    );
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      options.onSubmit(this);
    });
    this.account(options.me);
    // Escape closes a reply form (as Cancel does); the bottom form stays.
    if (options.inline) {
      this.el.addEventListener("keydown", (event) => {
        if (event.key !== "Escape" || event.isComposing) return;
        event.preventDefault();
        options.onCancel();
      });
    }
  }

  values() {
    return {
      parent: this.parent,
      body: this.inputs.body.value.trim(),
      name: this.inputs.name.value.trim(),
      email: this.inputs.email.value.trim(),
      url: this.inputs.url.value.trim(),
      notify: /** @type {HTMLInputElement} */ (this.notify).checked,
    };
  }

  /** The seed form's own checks; true when the form may be sent. */
  validate() {
    const v = this.values();
    /** @type {Partial<Record<Field, string>>} */
    const found = {};
    if (!v.body) found.body = this.t.bodyRequired;
    if (!v.name && !this.me) found.name = this.t.nameRequired;
    this.show(found, "");
    return !Object.keys(found).length;
  }

  /**
   * Show messages by field (server paths like "author.name" are mapped) and focus the first.
   * @param {Record<string, string>} fields @param {string} general
   */
  show(fields, general) {
    /** @type {HTMLElement | null} */
    let first = null;
    for (const f of /** @type {Field[]} */ (["body", "name", "email", "url"])) {
      const message = fields[f] || fields[`author.${f}`] || "";
      this.errors[f].textContent = message;
      const input = this.inputs[f];
      if (message) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", this.errors[f].id);
        first = first || input;
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }
    const rest = Object.entries(fields).filter(([k]) => !/^(author\.)?(body|name|email|url)$/.test(k));
    this.general.textContent = [general, ...rest.map(([, m]) => m)].filter(Boolean).join(" ");
    if (first) first.focus();
  }

  /** Signed in as `me`, or anonymous (null). @param {Account | null} me */
  account(me) {
    this.me = me;
    this.row.hidden = !!me;
    this.who.hidden = !me;
    this.who.textContent = me ? this.t.signedIn(me.name) : "";
  }

  /** @param {boolean} busy */
  busy(busy) {
    this.button.disabled = busy;
  }

  /** After a successful post: empty the text, keep the name for next time. */
  clear() {
    this.key = null;
    this.inputs.body.value = "";
    this.show({}, "");
  }
}
