// `#comment-ID` links: the page cannot scroll into a shadow root by itself, so the widget does.

/**
 * Scroll to, highlight and focus the comment a `#comment-ID` hash names (and unmark others).
 * @param {ShadowRoot} root
 * @param {string} hash
 * @param {Map<string, HTMLLIElement>} items
 */
export function mark(root, hash, items) {
  const match = /^#comment-(.+)$/.exec(hash);
  for (const li of root.querySelectorAll(".lt-target")) li.classList.remove("lt-target");
  let id = "";
  try {
    id = match ? decodeURIComponent(match[1]) : "";
  } catch {
    return; // a malformed hash (e.g. "%E0") names no comment
  }
  const li = items.get(id);
  if (!li) return;
  li.classList.add("lt-target");
  const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
  li.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
  /** @type {HTMLElement} */ (li.firstChild).focus({ preventScroll: true });
}
