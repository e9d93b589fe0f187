// One comment as DOM: author, time, text (or a tombstone), and the actions this reader may take.

import { h, safeHtml, safeUrl } from "./dom.js";
import { exact, relative } from "./time.js";

/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./strings.js").Strings} Strings */

/**
 * @typedef {{
 *   t: Strings, lang: string, moderator: boolean, locked: boolean,
 *   mine: (id: string) => boolean, own: (id: string) => boolean,
 *   act: (id: string, action: string) => void,
 *   extra: ((c: Comment) => Node[]) | null, bar?: (c: Comment) => Node | null,
 * }} Context
 * `extra`: the moderator's buttons (from moderate.js), on the moderators' page only; `bar`: a
 * published comment's reactions (reacting.js).
 */

/** @param {Comment} c @param {Context} ctx */
export function article(c, ctx) {
  const { t } = ctx;
  const tomb = c.status === "removed" && c.html === null;
  /** @param {string} action @param {string} label */
  const action = (action, label) =>
    h("button", { type: "button", class: `lt-link lt-${action}`, onclick: () => ctx.act(c.id, action) }, label);
  const actions = h("div", { class: "lt-actions" }, c.status === "visible" && ctx.bar && ctx.bar(c));
  if (!ctx.locked && c.status !== "pending") actions.append(action("reply", t.reply));
  if (ctx.mine(c.id) && c.status === "visible") actions.append(action("edit", t.edit), action("delete", t.del));
  // Readers report others' published comments (moderators act on them instead).
  if (!ctx.moderator && c.status === "visible" && !tomb && !ctx.own(c.id)) actions.append(action("report", t.report));
  if (ctx.extra) actions.append(...ctx.extra(c));
  if (tomb) {
    return h("article", { tabindex: -1, "aria-label": t.removed }, h("p", { class: "lt-tomb" }, t.removed), actions);
  }
  const name = c.author ? c.author.name : "";
  const site = safeUrl(c.author && c.author.url);
  const avatar = safeUrl(c.author && c.author.avatar);
  const created = new Date(c.created);
  return h(
    "article",
    { tabindex: -1, "aria-label": t.by(name) },
    h(
      "div",
      { class: "lt-meta" },
      // A signed-in author's picture, from the publisher's servers: told nothing of this page.
      avatar &&
        h("img", { class: "lt-avatar", src: avatar, alt: "", width: 24, height: 24, loading: "lazy", referrerpolicy: "no-referrer" }),
      site
        ? h("a", { class: "lt-author", href: site, rel: "nofollow ugc noopener", target: "_blank" }, name)
        : h("span", { class: "lt-author" }, name),
      // What the author was when they posted (a moderator, the article's author…); only the
      // badges this widget knows are shown, in the server's order.
      ...((c.author && c.author.badges) || [])
        .filter((b) => Object.prototype.hasOwnProperty.call(t.roles, b))
        .map((b) => h("span", { class: `lt-badge lt-role lt-role-${b}` }, t.roles[b])),
      h(
        "a",
        { class: "lt-time", href: `#comment-${c.id}`, title: t.link },
        h("time", { datetime: c.created, title: exact(created, ctx.lang) }, relative(created, ctx.lang)),
      ),
      c.pinned && h("span", { class: "lt-badge lt-pinned" }, t.pinned),
      c.edited && h("span", { class: "lt-badge" }, t.edited),
      c.status === "pending" && h("span", { class: "lt-badge" }, t.pending),
      // Only its author's own answer carries this: readers still see the approved text.
      /** @type {Comment & {pending_edit?: boolean}} */ (c).pending_edit &&
        h("span", { class: "lt-badge" }, t.editPending),
      c.status === "removed" && h("span", { class: "lt-badge" }, t.removedMod),
    ),
    h("div", { class: "lt-body" }, safeHtml(c.html || "")),
    actions,
  );
}

/** Refresh every relative time under `root` (they age while the page stays open). @param {ParentNode} root @param {string} lang */
export function retime(root, lang) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    el.textContent = relative(new Date(el.getAttribute("datetime") || ""), lang);
  }
}
