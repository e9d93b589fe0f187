// The moderators' calls of the HTTP API (v1), on the widget's Api (which sends the token):
// bundled into moderate.js only.

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./types.js").AuditEntry} AuditEntry */
/** @typedef {import("./types.js").Ban} Ban */
/** @typedef {import("./types.js").Comment} Comment */

/** @param {Api} api @param {string} id @param {string} action @returns {Promise<{comment: Comment}>} */
export function moderate(api, id, action) {
  return api.call("POST", `/api/v1/comments/${encodeURIComponent(id)}/moderation`, { action });
}

/**
 * A page of the site's decisions: with `after`, those after it oldest first; else those
 * before `before` (from the latest when null), newest first.
 * @param {Api} api
 * @param {{after?: number, before?: number | null, limit?: number}} from
 * @returns {Promise<{entries: AuditEntry[], next: number | null}>}
 */
export function audit(api, from) {
  /** @type {Record<string, string>} */
  const q = { site: api.site };
  if (from.after !== undefined) q.after = String(from.after);
  else q.order = "newest";
  if (from.before != null) q.before = String(from.before);
  if (from.limit) q.limit = String(from.limit);
  return api.call("GET", `/api/v1/audit?${new URLSearchParams(q)}`);
}

/** @param {Api} api @param {boolean} locked */
export function lock(api, locked) {
  const body = { site: api.site, thread: api.thread, action: locked ? "lock" : "unlock" };
  return api.call("POST", "/api/v1/threads/moderation", body);
}

/** @param {Api} api @param {string} title @param {string} url @returns {Promise<{title: string, url: string}>} */
export function retitle(api, title, url) {
  return api.call("POST", "/api/v1/threads/moderation", { site: api.site, thread: api.thread, action: "retitle", title, url });
}

/** The site's bans, newest first. @param {Api} api @returns {Promise<{site: string, bans: Ban[]}>} */
export function bans(api) {
  return api.call("GET", `/api/v1/bans?${new URLSearchParams({ site: api.site })}`);
}

/** @param {Api} api @param {Record<string, unknown>} body (ban_rules.js) @returns {Promise<{ban: Ban, removed: number}>} */
export function ban(api, body) {
  return api.call("POST", "/api/v1/bans", { site: api.site, ...body });
}

/** @param {Api} api @param {number} id @returns {Promise<{ban: Ban}>} */
export function lift(api, id) {
  return api.call("DELETE", `/api/v1/bans/${id}?${new URLSearchParams({ site: api.site })}`);
}

/**
 * The field messages of a refusal (a 422's `fields`), or none. Read by shape: the error comes
 * from the widget's own bundle (embed.js), whose ApiError class is not this bundle's.
 * @param {unknown} error
 * @returns {Record<string, string>}
 */
export function fieldsOf(error) {
  const fields = error && typeof error === "object" && "fields" in error ? error.fields : null;
  return fields && typeof fields === "object" ? /** @type {Record<string, string>} */ (fields) : {};
}

/** An error's HTTP status (0 if it has none), read by shape as `fieldsOf`. @param {unknown} error */
export function statusOf(error) {
  const status = error && typeof error === "object" && "status" in error ? error.status : 0;
  return typeof status === "number" ? status : 0;
}
