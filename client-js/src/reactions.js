// Reaction counts per comment and this reader's own reactions. Pure: no DOM.
// Counts are state, not events: frames from several server processes can cross, and a POST's
// answer races the frames, so each comment shows the reading with the highest version seen.

/** Every kind, in the order the widget shows them. */
export const KINDS = ["like", "love", "laugh", "wow", "sad"];

/** @typedef {{version: number, counts: Record<string, number>}} Reading */

/**
 * Whether a reading of `version` replaces the one shown (`shown`: its version, if any).
 * @param {number} version @param {number | undefined} shown
 */
export const newer = (version, shown) => shown === undefined || version > shown;

export class Tally {
  constructor() {
    /** @type {Map<string, Reading>} */
    this.byId = new Map();
    /** @type {Map<string, Set<string>>} this reader's own reactions, by comment id */
    this.mine = new Map();
  }

  /** @param {string} id @param {string} kind */
  count(id, kind) {
    return this.byId.get(id)?.counts[kind] || 0;
  }

  /** @param {string} id @param {string} kind */
  pressed(id, kind) {
    return !!this.mine.get(id)?.has(kind);
  }

  /** Take a reading if it is newer than the one shown; whether it was. @param {string} id @param {number} version @param {Record<string, number>} counts */
  take(id, version, counts) {
    if (!newer(version, this.byId.get(id)?.version)) return false;
    this.byId.set(id, { version, counts });
    return true;
  }

  /** @param {string} id @param {string} kind @param {boolean} on */
  press(id, kind, on) {
    const kinds = this.mine.get(id) || new Set();
    if (on) kinds.add(kind);
    else kinds.delete(kind);
    this.mine.set(id, kinds);
  }

  /**
   * The reader's toggle, shown at once: pressed state and count flip before the server answers.
   * The guess ranks just below the reading it came from, so the answer replaces it even when it
   * changed nothing (same version: the reader's reaction was already counted), as does any frame.
   * `undo` takes it back (the request failed), counts too unless a reading came meanwhile.
   * @param {string} id @param {string} kind
   */
  toggle(id, kind) {
    const on = !this.pressed(id, kind);
    const before = this.byId.get(id);
    const version = (before ? before.version : 0) - 0.5;
    const counts = { ...before?.counts, [kind]: Math.max(0, this.count(id, kind) + (on ? 1 : -1)) };
    this.byId.set(id, { version, counts });
    this.press(id, kind, on);
    const undo = () => {
      this.press(id, kind, !on);
      if (this.byId.get(id)?.version !== version) return;
      if (before) this.byId.set(id, before);
      else this.byId.delete(id);
    };
    return { on, undo };
  }
}
