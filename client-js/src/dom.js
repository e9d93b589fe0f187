// Building DOM without ever parsing strangers' strings as markup.

/**
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Props
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * Create an element. Strings become text nodes; `on*` props become listeners; `class`,
 * `aria-*`, `data-*` and the rest become attributes. Nothing is ever set as HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key.startsWith("on")) continue; // never an inline handler
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

const ALLOWED = new Set(["P", "BR", "UL", "OL", "LI", "EM", "STRONG", "A", "BLOCKQUOTE", "CODE"]);
// Elements whose text is code or styling, never prose: dropped with their content.
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "SVG", "MATH"]);

/**
 * A comment's HTML, rebuilt from the server's sanitized output through an allowlist again
 * (defence in depth): only the tags the server renders, only http(s)/mailto links.
 * @param {string} html
 * @returns {DocumentFragment}
 */
export function safeHtml(html) {
  // A DOMParser document runs no scripts and loads nothing.
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const out = document.createDocumentFragment();
  copy(parsed.body, out);
  return out;
}

/** @param {Node} from @param {Node} to */
function copy(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.appendChild(document.createTextNode(node.textContent || ""));
    } else if (node instanceof Element && !DROPPED.has(node.tagName.toUpperCase())) {
      const tag = node.tagName.toUpperCase();
      if (!ALLOWED.has(tag)) {
        copy(node, to);
        continue;
      }
      const el = document.createElement(tag.toLowerCase());
      if (tag === "A") {
        const href = safeUrl(node.getAttribute("href"), true);
        if (href) el.setAttribute("href", href);
        el.setAttribute("rel", "nofollow ugc noopener");
      }
      copy(node, el);
      to.appendChild(el);
    }
  }
}

/**
 * The URL if it is an absolute http(s) (or, for comment links, mailto) URL; otherwise null.
 * @param {string | null | undefined} raw
 * @param {boolean} [mail]
 */
export function safeUrl(raw, mail = false) {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    const ok = url.protocol === "http:" || url.protocol === "https:";
    return ok || (mail && url.protocol === "mailto:") ? url.href : null;
  } catch {
    return null;
  }
}
