// Which comments are the reader's own: those this browser holds an edit token for, and those
// their signed-in account wrote (on any device).

/** @typedef {import("./types.js").Comment} Comment */

/**
 * Whether the reader wrote `c`: this browser holds its edit token (`held`), or its author's key
 * is the signed-in reader's `key`. Anonymous comments have no key, so a null key never matches.
 * @param {Comment | undefined} c @param {boolean} held @param {string | null | undefined} key
 */
export function wrote(c, held, key) {
  return !!c && (held || (!!key && !!c.author && c.author.key === key));
}

/**
 * Whether the reader may still edit or delete `c`: theirs, and within the edit window.
 * @param {Comment | undefined} c @param {boolean} held @param {string | null | undefined} key
 * @param {number} window seconds @param {number} now ms
 */
export function editable(c, held, key, window, now) {
  return wrote(c, held, key) && now - new Date(/** @type {Comment} */ (c).created).getTime() < window * 1000;
}
