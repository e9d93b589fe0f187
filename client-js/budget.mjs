// The size budgets: what a reader's browser downloads for the widget, gzipped, must stay under
// 16 KB; the moderators' page's own code (moderate.js, on top of the widget) under 8 KB.
import { gzipSync } from "node:zlib";

/** Most bytes the served widget assets may take, gzipped at level 9, all together. */
// 16 KB, up from 14: issue 17's reactions, sorting, pages, presence and languages, as its item
// 10 allows. It counts embed.js and one language's file (lang/XX.js, the heaviest of them):
// a reader downloads at most one, and none on an English page.
export const BUDGET_BYTES = 16384;

/** Every file under server/web/static/ that a page embedding the widget downloads, besides
 * its language's file (see `heaviest`). */
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

/** Most bytes report.js may take, gzipped at level 9: the report form, which the widget loads
 * only when a reader first reports a comment (most never do), so it is outside the widget's
 * budget; 2 KB keeps the wait on that first click short. */
export const REPORT_BUDGET_BYTES = 2048;

/** The files a reader's first report downloads. */
export const REPORT_ASSETS = Object.freeze(["report.js"]);

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
 * The language file that weighs most gzipped: the one a reader's budget must leave room for.
 * @param {Map<string, Uint8Array | string>} languages each file by its language
 * @returns {[string, Uint8Array | string]} its language and contents ("" and nothing if none)
 */
export function heaviest(languages) {
  /** @type {[string, Uint8Array | string]} */
  let found = ["", ""];
  let most = -1;
  for (const [lang, contents] of languages) {
    const size = gzipSize(contents);
    if (size > most) [found, most] = [[lang, contents], size];
  }
  return found;
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
