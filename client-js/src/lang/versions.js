// The language files' version: the start of the SHA-256 of all of them, as the server computes
// it (server/web/languages.py), so the widget asks for the year-cached URLs. One for all keeps
// embed.js small (eleven would weigh about 100 bytes gzipped). build.mjs fills it in when it
// bundles embed.js; unbuilt (the Node tests), it is empty and the stable URLs are used.

/** @type {string} */
export default "";
