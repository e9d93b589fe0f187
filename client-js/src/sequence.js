// A thread's position: which events are next, already seen, or beyond a gap.

export class Sequence {
  /** @param {number} last the seq the client's state reflects */
  constructor(last) {
    this.last = last;
  }

  /**
   * @param {number} seq
   * @returns {"next" | "seen" | "gap"}
   */
  check(seq) {
    if (seq <= this.last) return "seen";
    return seq === this.last + 1 ? "next" : "gap";
  }

  /** @param {number} seq */
  advance(seq) {
    this.last = seq;
  }
}
