// The HTTP API (v1), as the widget uses it (the moderators' calls: moderator_api.js).

/** @typedef {import("./types.js").Snapshot} Snapshot */
/** @typedef {import("./types.js").Page} Page */
/** @typedef {import("./types.js").Comment} Comment */
/** @typedef {import("./types.js").Account} Account */

/** A fresh Idempotency-Key. */
export function newKey() {
  try {
    return crypto.randomUUID();
  } catch {
    // randomUUID needs a secure context; random bytes do not.
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
}

export class ApiError extends Error {
  /**
   * @param {number} status @param {string} message @param {Record<string, string>} fields
   * @param {string} [code] the answer's `error` ("origin_refused", "rate_limited", …), if any
   */
  constructor(status, message, fields, code = "") {
    super(message);
    this.status = status;
    this.fields = fields;
    this.code = code;
  }
}

/** Whether the server refused this page's origin: nothing will work here until it is listed. @param {unknown} error */
export function refused(error) {
  return error instanceof ApiError && error.status === 403 && error.code === "origin_refused";
}

export class Api {
  /** @param {string} base origin of the livethread server @param {string} site @param {string} thread */
  constructor(base, site, thread) {
    this.base = base;
    this.site = site;
    this.thread = thread;
    /** @type {string | null} */
    this.moderator = null;
    /** @type {Record<string, string>} the page's title and URL (meta.js), sent with the snapshot */
    this.meta = {};
    /** the widget's language, asked of the server for its messages (Accept-Language) */
    this.lang = "en";
    /** @type {string | null} the reader's sign-in token, from the publisher's page */
    this.account = null;
    /** Called once a sign-in token is refused (expired): it is no longer sent. */
    this.expired = () => {};
  }

  /** @param {Record<string, string>} [extra] */
  headers(extra = {}) {
    /** @type {Record<string, string>} */
    const headers = { "Content-Type": "application/json", "Accept-Language": this.lang, ...extra };
    if (this.moderator) headers.Authorization = `Bearer ${this.moderator}`;
    if (this.account) headers["X-Account-Token"] = this.account;
    return headers;
  }

  /**
   * @param {string} method @param {string} path @param {unknown} [body]
   * @param {Record<string, string>} [extra]
   */
  async call(method, path, body, extra) {
    const signed = this.account;
    const response = await fetch(this.base + path, {
      method,
      headers: this.headers(extra),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      // An answer that is not our JSON (a proxy's error page) is an error without a message.
      const body = data && typeof data === "object" ? data : {};
      const text = (/** @type {unknown} */ v) => (typeof v === "string" ? v : "");
      // Only a token this call sent (a newer one may have replaced it meanwhile).
      if (response.status === 401 && signed && signed === this.account) {
        this.account = null;
        this.expired();
      }
      throw new ApiError(response.status, text(body.message), body.fields || {}, text(body.error));
    }
    return data;
  }

  /** @returns {Promise<Snapshot>} */
  snapshot() {
    const q = new URLSearchParams({ site: this.site, thread: this.thread, ...this.meta });
    return this.call("GET", `/api/v1/threads?${q}`);
  }

  /** A page of the thread (top-level comments with their replies) in `order`: the first,
   * the one after the cursor `after`, or the one holding the comment `around`.
   * @param {{order: string, limit: string, after?: string, around?: string}} query
   * @returns {Promise<Page>} */
  page(query) {
    const q = new URLSearchParams({ site: this.site, thread: this.thread, ...this.meta, page: "1", ...query });
    return this.call("GET", `/api/v1/threads?${q}`);
  }

  /**
   * @param {{parent: string | null, name: string, email: string, url: string, body: string,
   *          notify: boolean}} form
   * @param {string} key Idempotency-Key: the same for every retry of one submission
   * @returns {Promise<{comment: Comment, edit_token: string}>}
   */
  post(form, key) {
    // A signed-in reader's name (and email) come from their account.
    const author = this.account
      ? { notify: form.notify }
      : { name: form.name, email: form.email || null, url: form.url || null, notify: form.notify };
    const body = { site: this.site, thread: this.thread, parent: form.parent, author, body: form.body };
    return this.call("POST", "/api/v1/comments", body, { "Idempotency-Key": key });
  }

  /** @returns {Promise<Account>} */
  me() {
    return this.call("GET", `/api/v1/account?${new URLSearchParams({ site: this.site })}`);
  }

  /** With no edit token, the sign-in token (sent on every call) names the author. @param {string} id @param {string} body @param {string} [token] */
  edit(id, body, token) {
    return this.call("PATCH", `/api/v1/comments/${encodeURIComponent(id)}`, { body }, token ? { "X-Edit-Token": token } : undefined);
  }

  /** @param {string} id @param {string} [token] */
  remove(id, token) {
    return this.call("DELETE", `/api/v1/comments/${encodeURIComponent(id)}`, undefined, token ? { "X-Edit-Token": token } : undefined);
  }

  /** One's own comment's text as written (to edit it on another device). @param {string} id @returns {Promise<{id: string, body: string}>} */
  source(id) {
    return this.call("GET", `/api/v1/comments/${encodeURIComponent(id)}/source`);
  }

  /** A reader reports a comment (the sign-in token, if any, names them). @param {string} id @param {string} reason @param {string} text */
  report(id, reason, text) {
    return this.call("POST", `/api/v1/comments/${encodeURIComponent(id)}/reports`, { reason, text: text || undefined });
  }

  /** React to a comment (`on`) or take it back. Signed in, the account is the reader; else
   * `key`, this browser's anonymous reader key.
   * @param {string} id @param {string} kind @param {boolean} on @param {string} key
   * @returns {Promise<{id: string, version: number, counts: Record<string, number>, kind: string, on: boolean}>} */
  react(id, kind, on, key) {
    return this.call("POST", `/api/v1/comments/${encodeURIComponent(id)}/reactions`, { kind, on }, this.readerKey(key));
  }

  /** This reader's own reactions in the thread, by comment id. @param {string} key
   * @returns {Promise<{mine: Record<string, string[]>}>} */
  reactions(key) {
    const q = new URLSearchParams({ site: this.site, thread: this.thread });
    return this.call("GET", `/api/v1/reactions?${q}`, undefined, this.readerKey(key));
  }

  /** The anonymous reader key goes only where no account names the reader. @param {string} key */
  readerKey(key) {
    return this.account ? undefined : { "X-Reader-Key": key };
  }

  /** `mine`: this browser has posted here, so the server also sends the comments of its own
   * that only it is shown (`comment.own`). @param {number} since @param {boolean} [mine] */
  socketUrl(since, mine = false) {
    const q = new URLSearchParams({ site: this.site, thread: this.thread, since: String(since) });
    if (mine) q.set("mine", "1");
    return `${this.base.replace(/^http/, "ws")}/ws/v1/threads?${q}`;
  }
}
