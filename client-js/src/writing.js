// The reader's own comments: the bottom form, a reply form under a comment, posting (its answer
// and its echo over the socket may come in either order), editing and deleting within the edit
// window.

import { ApiError, newKey, refused } from "./api.js";
import { CommentForm } from "./form.js";
import { editForm } from "./small_forms.js";
import { remembered } from "./storage.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./widget.js").Widget} Widget */

export class Writing {
  /** @param {Widget} widget */
  constructor(widget) {
    this.w = widget;
    /** @type {CommentForm | null} the open reply form under a comment */
    this.inline = null;
    // Posts of this reader awaiting their answer, and whether a "new comments" announcement
    // waits for them (the echo of one's own post must not be announced as someone else's).
    this.posting = 0;
    this.unannounced = false;
    this.bottom = new CommentForm(widget.t, this.options(null, widget.t.leave, false));
  }

  /** @param {string | null} parent @param {string} label @param {boolean} inline */
  options(parent, label, inline) {
    return {
      parent,
      label,
      inline,
      name: remembered.name(),
      me: this.w.me,
      /** @param {CommentForm} form */
      onSubmit: (form) => this.submit(form),
      onCancel: () => this.closeInline(),
    };
  }

  /** The reader signed in or out: the open forms follow. */
  account() {
    for (const form of [this.bottom, this.inline]) form?.account(this.w.me);
  }

  /** Close the reply form, if one is open, and give the focus back to its Reply button. */
  closeInline() {
    const form = this.inline;
    this.inline = null;
    if (!form) return;
    const li = form.parent ? this.w.items.get(form.parent) : null;
    form.el.remove();
    const button = li && li.querySelector(":scope > article .lt-reply");
    if (button instanceof HTMLElement) button.focus();
  }

  /** Open a reply form under a comment. @param {string} id */
  reply(id) {
    this.closeInline();
    const { t, items, thread } = this.w;
    const li = items.get(id);
    const c = thread.get(id);
    if (!li || !c) return;
    const label = c.author ? t.replyTo(c.author.name) : t.reply;
    const form = new CommentForm(t, this.options(id, label, true));
    this.inline = form;
    li.firstChild?.after(form.el);
    form.inputs.body.focus();
  }

  /** @param {CommentForm} form */
  async submit(form) {
    if (!form.validate()) return;
    const w = this.w;
    const values = form.values();
    // The same key for every retry of this submission: the server stores it once.
    form.key = form.key || newKey();
    form.busy(true);
    this.posting++;
    const signed = !!w.api.account;
    try {
      const answer = await w.api.post(values, form.key);
      if (!signed) remembered.setName(values.name);
      remembered.setOwn(answer.comment.id, { token: answer.edit_token, body: values.body, at: Date.now() });
      remembered.setPosted(w.api.site, w.api.thread);
      form.clear();
      if (form === this.inline) this.closeInline();
      w.place(answer.comment);
      // Its echo may have come over the socket first and been held as someone else's comment.
      if (w.held.items.delete(answer.comment.id)) w.events.showHeld();
      w.counted();
      const li = w.items.get(answer.comment.id);
      if (li) /** @type {HTMLElement} */ (li.firstChild).focus();
      w.say(w.t.posted);
    } catch (error) {
      if (refused(error)) return w.refuse();
      if (error instanceof ApiError) {
        if (error.status === 409) w.setLocked(true);
        // Anonymous, on a site for accounts only: a note takes the form's place.
        if (error.status === 401 && !signed) w.barred();
        // A 429 may come from a proxy in front of the server, with its own message or none.
        const fallback = error.status === 429 ? w.t.tooFast : w.t.failed;
        form.show(error.fields, error.status === 422 ? "" : error.message || fallback);
      } else form.show({}, w.t.failed);
    } finally {
      form.busy(false);
      if (!--this.posting && this.unannounced) {
        this.unannounced = false;
        if (w.held.size) w.say(w.t.fresh(w.held.size));
      }
    }
  }

  /** Edit one's own comment in place. @param {string} id */
  async edit(id) {
    const w = this.w;
    const own = remembered.own()[id];
    const li = w.items.get(id);
    const body = li && li.querySelector(":scope > article .lt-body");
    if (!w.mine(id) || !(body instanceof HTMLElement)) return;
    const save = async (/** @type {string} */ value) => {
      try {
        /** @type {{comment: Comment}} */
        const answer = await w.api.edit(id, value, own?.token);
        if (own) remembered.setOwn(id, { ...own, body: value });
        w.thread.put(answer.comment);
        w.redraw(id);
      } catch (error) {
        w.trouble(error);
      }
    };
    // Written on another device: its source from the server (else the text as shown).
    const text = own ? own.body : await w.api.source(id).then((a) => a.body, () => body.innerText.trim());
    if (!body.isConnected) return; // redrawn meanwhile (a live edit): nothing to replace
    const { form, focus } = editForm(w.t, text, save, () => w.redraw(id));
    body.replaceWith(form);
    focus();
  }

  /** Delete one's own comment (after asking). @param {string} id */
  async remove(id) {
    const own = remembered.own()[id];
    if (!this.w.mine(id) || !confirm(this.w.t.sure)) return;
    await this.w.api.remove(id, own?.token);
    remembered.setOwn(id, null);
    this.w.events.drop(id);
  }
}
