// Count strings by each language's own plural rules (Intl.PluralRules, which every browser
// carries): English has two forms, Polish and Russian four, Arabic six, Japanese one.

/** @typedef {"zero" | "one" | "two" | "few" | "many" | "other"} Category */
/** @typedef {Partial<Record<Category, string>> & {other: string}} Forms each with `#` for the number */
/** @typedef {((n: number) => string) & {forms: Forms}} Counted a count string, its forms kept for the tests */

/**
 * The count strings of one language: `plurals("pl")({one: "# komentarz", few: …, other: …})`.
 * Digits stay ASCII, as readers of all twelve languages see them on the web. A category a newer
 * browser knows and the table lacks falls back to `other`, rather than to nothing.
 * @param {string} lang
 */
export function plurals(lang) {
  const rules = new Intl.PluralRules(lang);
  /** @param {Forms} forms @returns {Counted} */
  return (forms) => {
    const say = (/** @type {number} */ n) => (forms[rules.select(n)] ?? forms.other).replace("#", String(n));
    return Object.assign(say, { forms });
  };
}
