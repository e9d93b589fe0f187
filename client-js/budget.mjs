// The size budgets: what a reader's browser downloads for the widget, gzipped, must stay under
// 14 KB; the moderators' page's own code (moderate.js, on top of the widget) under 8 KB.
import { gzipSync } from "node:zlib";

/** Most bytes the served widget assets may take, gzipped at level 9, all together. */
// 14 KB, up from 12: readers' accounts, reporting comments and the moderators' audit view.
export const BUDGET_BYTES = 14336;

/** Every file under server/web/static/ that a page embedding the widget downloads. */
export const SERVED_ASSETS = Object.freeze(["embed.js"]);

/** Most bytes moderate.js may take, gzipped at level 9. Only moderators download it, on
 * /moderate, so it is not the readers' budget; 8 KB keeps their page quick all the same on a
 * phone (the queue, bans, decisions and their strings come to ~6.6 KB today), and keeps code readers need from
 * drifting into it unnoticed. */
export const MODERATE_BUDGET_BYTES = 8192;

/** Every file under server/web/static/ that the moderators' page downloads besides the widget's. */
export const MODERATE_ASSETS = Object.freeze(["moderate.js"]);

/** Most bytes counts.js may take, gzipped at level 9. Index pages load it for every visitor,
 * often without the widget, to show each article's comment count live: 2 KB keeps it a trifle
 * beside the page, and keeps it from growing into a second widget (issue 17). */
export const COUNTS_BUDGET_BYTES = 2048;

/** Every file under server/web/static/ that an index page with live counts downloads. */
export const COUNTS_ASSETS = Object.freeze(["counts.js"]);

/**
 * The gzip (level 9) size of one file's bytes.
 * @param {Uint8Array | string} contents
 * @returns {number}
 */
export function gzipSize(contents) {
  return gzipSync(contents, { level: 9 }).length;
}

/**
 * The total gzipped size of the given assets and whether it fits the budget.
 * @param {Iterable<Uint8Array | string>} assets
 * @param {number} [budget]
 * @param {string} [what] what the size line names
 * @returns {{ bytes: number, budget: number, ok: boolean, message: string }}
 */
export function checkBudget(assets, budget = BUDGET_BYTES, what = "widget") {
  let bytes = 0;
  for (const contents of assets) bytes += gzipSize(contents);
  return {
    bytes,
    budget,
    ok: bytes <= budget,
    message: `${what} size: ${bytes} bytes gzipped (budget ${budget})`,
  };
}
