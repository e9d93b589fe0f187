// `#comment-ID` links: the page cannot scroll into a shadow root by itself, so the widget does.

/** The comment id a `#comment-ID` hash names ("" for any other hash). @param {string} hash */
export function named(hash) {
  const match = /^#comment-(.+)$/.exec(hash);
  try {
    return match ? decodeURIComponent(match[1]) : "";
  } catch {
    return ""; // a malformed hash (e.g. "%E0") names no comment
  }
}

/**
 * Scroll to, highlight and focus the comment `id` (and unmark others).
 * @param {ShadowRoot} root
 * @param {string} id
 * @param {Map<string, HTMLLIElement>} items
 */
export function mark(root, id, items) {
  for (const li of root.querySelectorAll(".lt-target")) li.classList.remove("lt-target");
  const li = items.get(id);
  if (!li) return;
  li.classList.add("lt-target");
  const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
  li.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
  /** @type {HTMLElement} */ (li.firstChild).focus({ preventScroll: true });
}
