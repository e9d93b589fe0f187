// The widget's size budget: what a reader's browser downloads, gzipped, must stay under 14 KB.
import { gzipSync } from "node:zlib";

/** Most bytes the served widget assets may take, gzipped at level 9, all together. */
// 14 KB, up from 12: readers' accounts, reporting comments and the moderators' audit view.
export const BUDGET_BYTES = 14336;

/** Every file under server/web/static/ that a page embedding the widget downloads. */
export const SERVED_ASSETS = Object.freeze(["embed.js"]);

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
 * @returns {{ bytes: number, budget: number, ok: boolean, message: string }}
 */
export function checkBudget(assets, budget = BUDGET_BYTES) {
  let bytes = 0;
  for (const contents of assets) bytes += gzipSize(contents);
  return {
    bytes,
    budget,
    ok: bytes <= budget,
    message: `widget size: ${bytes} bytes gzipped (budget ${budget})`,
  };
}
