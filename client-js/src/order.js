// The orders a reader may choose for the top-level comments (replies stay oldest first under
// their parent); pinned comments come first in every order. Pure: no DOM.

/** @typedef {import("./types.js").Comment} Comment */

export const ORDERS = ["oldest", "newest", "best"];

const HOUR_MS = 3600000;

/**
 * "Best": (likes + 1) / (hours since posted + 2), likes per hour of exposure with a prior. A
 * raw like count favours whatever came early (it has had the most hours to collect likes, and
 * is read first); dividing by exposure resists that, and the +1 / +2 keep a brand-new comment
 * with no likes from ranking as high or as low as a proven one.
 * @param {number} likes @param {string} created ISO time @param {number} now ms
 */
export function best(likes, created, now) {
  const hours = Math.max(0, now - Date.parse(created)) / HOUR_MS;
  return (likes + 1) / (hours + 2);
}

/**
 * A comparator for `order` (negative: `a` goes first): pinned first, then by the order; ties
 * (and "oldest") by the time posted.
 * @param {string} order @param {(id: string) => number} likes @param {number} now
 * @returns {(a: Comment, b: Comment) => number}
 */
export function compare(order, likes, now) {
  return (a, b) =>
    +!!b.pinned - +!!a.pinned ||
    (order === "best" ? best(likes(b.id), b.created, now) - best(likes(a.id), a.created, now) : 0) ||
    (order === "newest" ? -1 : 1) * (Date.parse(a.created) - Date.parse(b.created));
}

/** @param {Comment[]} comments @param {string} order @param {(id: string) => number} likes @param {number} now */
export function sorted(comments, order, likes, now) {
  return [...comments].sort(compare(order, likes, now));
}
