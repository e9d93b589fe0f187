// Reconnect delays: exponential with full jitter, so a server restart is not met by every
// reader at the same instant.

export const BASE_MS = 500;
export const CAP_MS = 20000;

/**
 * Milliseconds to wait before reconnect attempt `attempt` (0 for the first retry).
 * @param {number} attempt
 * @param {() => number} random uniform in [0, 1)
 */
export function delay(attempt, random = Math.random) {
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling);
}
