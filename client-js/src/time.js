// Relative times ("5 minutes ago") with the exact time for the tooltip, via Intl (no data).

const UNITS = /** @type {const} */ ([
  ["year", 31536000],
  ["month", 2592000],
  ["week", 604800],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
]);

/**
 * @param {Date} when
 * @param {string} lang
 * @param {number} now milliseconds
 */
export function relative(when, lang, now = Date.now()) {
  const seconds = Math.round((when.getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(0, "second");
}

/** @param {Date} when @param {string} lang */
export function exact(when, lang) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" }).format(when);
}
