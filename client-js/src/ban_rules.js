// What the ban form sends and how a ban reads, apart from the DOM (tested in test/ban_rules.test.mjs).

import { exact } from "./time.js";

/** @typedef {import("./types.js").Ban} Ban */
/** @typedef {import("./strings.js").ModeratorStrings} ModeratorStrings */

/** The form's choices, each with the key of its label in strings.js; the first is the default. */
export const MODES = /** @type {const} */ ([
  ["ban", "modeBan"],
  ["day", "modeDay"],
  ["week", "modeWeek"],
  ["month", "modeMonth"],
  ["shadow", "modeShadow"],
]);
export const WHO = /** @type {const} */ ([
  ["best", "whoBest"],
  ["account", "whoAccount"],
  ["email", "whoEmail"],
  ["address", "whoAddress"],
]);
export const REMOVE = /** @type {const} */ ([
  ["none", "removeNone"],
  ["thread", "removeThread"],
  ["site", "removeSite"],
]);

/** How long each suspension lasts, in days. */
const DAYS = /** @type {Record<string, number>} */ ({ day: 1, week: 7, month: 30 });
const DAY_MS = 86400000;

/**
 * The body of POST /api/v1/bans (less the site) for a ban made from comment `id`: "best" lets
 * the server pick what the comment has (account, else email, else address); a suspension ends
 * its number of days from `now`.
 * @param {string} id
 * @param {{mode: string, who: string, remove: string, reason: string}} choice
 * @param {number} now milliseconds
 */
export function banBody(id, choice, now) {
  const days = DAYS[choice.mode];
  /** @type {Record<string, unknown>} */
  const body = {
    comment: id,
    key: choice.who === "best" ? null : choice.who,
    mode: days ? "suspend" : choice.mode,
    remove: choice.remove,
  };
  if (days) body.until = new Date(now + days * DAY_MS).toISOString();
  const reason = choice.reason.trim();
  if (reason) body.reason = reason;
  return body;
}

/** Whom a ban names: the name on the comment it was made from, else its value; never an
 * address's value (a hash, meaningless to read). @param {Ban} ban @param {ModeratorStrings} t */
export function whom(ban, t) {
  return ban.label || (ban.key === "address" ? t.someone : ban.value);
}

/** What a ban does: "banned", "suspended until …", "shadow-banned". A ban may end too (one by
 * address, as addresses are kept only so long). @param {Ban} ban @param {ModeratorStrings} t @param {string} lang */
export function doing(ban, t, lang) {
  const until = ban.until ? exact(new Date(ban.until), lang) : "";
  if (ban.mode === "shadow") return until ? t.shadowBannedUntil(until) : t.shadowBanned;
  if (ban.mode === "suspend") return t.suspended(until);
  return until ? t.bannedUntil(until) : t.banned;
}

/** One line for a ban: whom, by what, what it does ("Ann (email): suspended until …").
 * @param {Ban} ban @param {ModeratorStrings} t @param {string} lang */
export function describe(ban, t, lang) {
  return `${whom(ban, t)} (${t.keys[ban.key] || ban.key}): ${doing(ban, t, lang)}`;
}

/** What the moderator is told once a ban is made. @param {{ban: Ban, removed: number}} answer
 * @param {ModeratorStrings} t @param {string} lang */
export function made(answer, t, lang) {
  const line = describe(answer.ban, t, lang);
  return answer.removed ? `${line}; ${t.removedCount(answer.removed)}.` : `${line}.`;
}
