// The widget's scripts that load only when needed, from embed.js's server: each leaves what it
// brings on `window` when it runs.

import { h } from "./dom.js";

/** @typedef {import("./types.js").DeskMaker} DeskMaker */

/**
 * What `found` finds once the script `src` has run (at once if it has already).
 * @template T
 * @param {string} src @param {() => T | undefined} found
 * @returns {Promise<T>}
 */
function loaded(src, found) {
  return new Promise((resolve, reject) => {
    const take = () => {
      const value = found();
      if (value) resolve(value);
      return !!value;
    };
    if (take()) return;
    // /moderate loads moderate.js itself: whichever runs first, it says when it has.
    addEventListener("livethread:moderate", take);
    document.head.append(h("script", { src, onload: () => take() || reject(new Error(src)), onerror: reject }));
  });
}

/** The report form (report.js), loaded on a reader's first report. @param {string} base */
export const reportForm = (base) => loaded(`${base}/report.js`, () => window.livethreadReport);

/** The moderators' code (moderate.js): /moderate loads it before the widget; any other page
 * with a data-moderate widget gets it here. @param {string} base @returns {Promise<DeskMaker>} */
export const moderatorsDesk = (base) => loaded(`${base}/moderate.js`, () => window.livethreadModerate);
