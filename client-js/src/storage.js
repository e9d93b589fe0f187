// What the widget remembers in the reader's browser: their name, the edit tokens of their own
// comments, the threads they posted or reacted in, their anonymous reader key, each site's
// chosen order, and (per tab only) a moderator's token. Storage may be blocked on third-party
// pages, so every access is allowed to fail.

const NAME = "livethread:name";
const OWN = "livethread:own";
const POSTED = "livethread:posted";
const REACTED = "livethread:reacted";
const READER = "livethread:reader";
const DAY_MS = 86400000;
// Threads this browser has posted (or reacted) in, the newest last: enough for anyone's recent
// reading.
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

/** A list of threads (JSON of [site, thread]), oldest first. @param {string} key @returns {string[]} */
function threads(key) {
  try {
    const all = JSON.parse(read(local, key) || "[]");
    return Array.isArray(all) ? all : [];
  } catch {
    return [];
  }
}

/** @param {string} key @param {string} site @param {string} thread */
function addThread(key, site, thread) {
  const entry = JSON.stringify([site, thread]);
  const all = threads(key).filter((k) => k !== entry);
  all.push(entry);
  write(local, key, JSON.stringify(all.slice(-POSTED_MAX)));
}

// Where storage is blocked the key lasts as long as the page.
let readerKey = "";

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

  /** The threads posted in from here (JSON of [site, thread]), oldest first. */
  posts: () => threads(POSTED),
  /** Whether this browser has posted in the thread. @param {string} site @param {string} thread */
  posted: (site, thread) => threads(POSTED).includes(JSON.stringify([site, thread])),
  /** @param {string} site @param {string} thread */
  setPosted: (site, thread) => addThread(POSTED, site, thread),

  /** Whether this browser has reacted in the thread (then its own reactions are worth asking
   * for). @param {string} site @param {string} thread */
  reacted: (site, thread) => threads(REACTED).includes(JSON.stringify([site, thread])),
  /** @param {string} site @param {string} thread */
  setReacted: (site, thread) => addThread(REACTED, site, thread),

  /** This browser's anonymous reader key (one reaction per reader), made once: random, so it
   * names nobody. */
  reader() {
    readerKey = readerKey || read(local, READER) || "";
    // The server takes 16-64 of [A-Za-z0-9_-]; anything else stored is made anew.
    if (!/^[\w-]{16,64}$/.test(readerKey)) {
      readerKey = Array.from(crypto.getRandomValues(new Uint8Array(18)), (b) => b.toString(16).padStart(2, "0")).join("");
      write(local, READER, readerKey);
    }
    return readerKey;
  },

  /** The order the reader chose for this site's threads. @param {string} site */
  order: (site) => read(local, `livethread:order:${site}`),
  /** @param {string} site @param {string} order */
  setOrder: (site, order) => write(local, `livethread:order:${site}`, order),

  /** @param {string} site */
  moderator: (site) => read(session, `livethread:moderator:${site}`),
  /** @param {string} site @param {string | null} token */
  setModerator: (site, token) => write(session, `livethread:moderator:${site}`, token),
};
