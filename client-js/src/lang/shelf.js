// Where a language's script (server/web/static/lang/XX.js) leaves its strings for the widget,
// and the event that says it has: the same hand-over as moderate.js's `livethreadModerate`.

/** @typedef {import("../strings.js").Strings} Strings */

/** @type {readonly string[]} the languages served as files of their own; English is in embed.js */
export const LANGUAGES = ["ar", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr"];

export const LOADED = "livethread:lang";

/** @returns {Record<string, Strings>} */
export function shelf() {
  const w = /** @type {{livethreadLang?: Record<string, Strings>}} */ (/** @type {unknown} */ (window));
  return w.livethreadLang || (w.livethreadLang = {});
}

/** @param {string} lang @param {Strings} t */
export function register(lang, t) {
  shelf()[lang] = t;
  dispatchEvent(new Event(LOADED));
}
