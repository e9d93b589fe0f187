// Applies the widget's stylesheet (widget.css, bundled as a string) to a shadow root.

import css from "./widget.css";

/**
 * Constructable stylesheets are not blocked by a host page's strict CSP (style-src), unlike
 * a <style> element, which is only the fallback for browsers without them.
 * @param {ShadowRoot} root
 */
export function adopt(root) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }
}
