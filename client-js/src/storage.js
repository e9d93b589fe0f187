// What the widget remembers in the reader's browser: their name, the edit tokens of their own
// comments, and (per tab only) a moderator's token. Storage may be blocked on third-party
// pages, so every access is allowed to fail.

const NAME = "livethread:name";
const OWN = "livethread:own";
const POSTED = "livethread:posted";
const DAY_MS = 86400000;
// Threads this browser has posted in, the newest last: enough for anyone's recent reading.
const POSTED_MAX = 100;

/** @typedef {{token: string, body: string, at: number}} Own */

/** @param {Storage | null} store @param {string} key */
function read(store, key) {
  try {
    return store ? store.getItem(key) : null;
  } catch {
    return null;
  }
}

/** @param {Storage | null} store @param {string} key @param {string | null} value */
function write(store, key, value) {
  try {
    if (store) value === null ? store.removeItem(key) : store.setItem(key, value);
  } catch {
    // Private mode or blocked storage: the widget works, it just forgets.
  }
}

/** @param {() => Storage} get */
function safe(get) {
  try {
    return get();
  } catch {
    return null;
  }
}

const local = safe(() => window.localStorage);
const session = safe(() => window.sessionStorage);

export const remembered = {
  name: () => read(local, NAME) || "",
  /** @param {string} name */
  setName: (name) => write(local, NAME, name),

  /** @returns {Record<string, Own>} */
  own() {
    try {
      return JSON.parse(read(local, OWN) || "{}");
    } catch {
      return {};
    }
  },
  /** @param {string} id @param {Own | null} entry */
  setOwn(id, entry) {
    const all = this.own();
    if (entry) all[id] = entry;
    else delete all[id];
    // Tokens outlive the edit window by far; keep a day's worth.
    for (const [key, value] of Object.entries(all)) {
      if (Date.now() - value.at > DAY_MS) delete all[key];
    }
    write(local, OWN, JSON.stringify(all));
  },

  /** The threads posted in from here (JSON of [site, thread]), oldest first. @returns {string[]} */
  posts() {
    try {
      const all = JSON.parse(read(local, POSTED) || "[]");
      return Array.isArray(all) ? all : [];
    } catch {
      return [];
    }
  },
  /** Whether this browser has posted in the thread. @param {string} site @param {string} thread */
  posted(site, thread) {
    return this.posts().includes(JSON.stringify([site, thread]));
  },
  /** @param {string} site @param {string} thread */
  setPosted(site, thread) {
    const key = JSON.stringify([site, thread]);
    const all = this.posts().filter((k) => k !== key);
    all.push(key);
    write(local, POSTED, JSON.stringify(all.slice(-POSTED_MAX)));
  },

  /** @param {string} site */
  moderator: (site) => read(session, `livethread:moderator:${site}`),
  /** @param {string} site @param {string | null} token */
  setModerator: (site, token) => write(session, `livethread:moderator:${site}`, token),
};
