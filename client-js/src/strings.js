// Every string the readers' widget shows. English is bundled here; the eleven other languages
// are files of their own (lang/XX.js, served as /lang/XX.js) that a page loads only when it
// speaks one. The moderators' strings are tables of their own, used only by moderate.js: the
// readers' bundle leaves them out (esbuild drops what embed.js never imports).

import { LANGUAGES, LOADED, shelf } from "./lang/shelf.js";
import versions from "./lang/versions.js";
import { plurals } from "./plural.js";

// The moderators' tables (English and German only) keep their two forms.
/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => (n === 1 ? one : many).replace("#", String(n));

// Marked pure, so that moderate.js (which imports only the moderators' tables) leaves out en.
const counted = /* @__PURE__ */ plurals("en");

export const en = {
  // Count strings give every form the language's Intl.PluralRules has (plural.js).
  count: /* @__PURE__ */ counted({ one: "# Comment", other: "# Comments" }),
  fresh: /* @__PURE__ */ counted({ one: "# new comment", other: "# new comments" }),
  removed: "This comment was removed",
  pending: "Awaiting approval",
  editPending: "Edit awaiting approval",
  removedMod: "Removed",
  /** @type {Record<string, string>} the badges beside an author's name */
  roles: { admin: "Admin", moderator: "Moderator", staff: "Staff", author: "Author" },
  reply: "Reply",
  /** @param {string} name */
  replyTo: (name) => `Reply to ${name}`,
  leave: "Leave a reply",
  edit: "Edit",
  del: "Delete",
  save: "Save",
  cancel: "Cancel",
  post: "Post Comment",
  comment: "Comment",
  name: "Name",
  email: "Email (optional, never shown)",
  notify: "Notify me of replies by email",
  website: "Website (optional)",
  nameRequired: "Please enter your name here",
  bodyRequired: "Please enter your comment!",
  locked: "Comments are closed on this article.",
  reconnecting: "Reconnecting…",
  loading: "Loading comments…",
  unloaded: "The comments could not be loaded. Please try again later.",
  empty: "No comments yet. Be the first to comment.",
  notHere: "Comments are not set up for this address.",
  posted: "Your comment was posted.",
  failed: "Your comment could not be sent. Check your connection and try again.",
  tooFast: "You are commenting too fast. Please wait a moment and try again.",
  sure: "Delete your comment?",
  edited: "edited",
  /** @param {string} name */
  by: (name) => `Comment by ${name}`,
  link: "Link to this comment",
  /** @param {string} name */
  signedIn: (name) => `Signed in as ${name}`,
  signInFirst: "Sign in to comment.",
  expired: "Your sign-in has expired: please sign in again.",
  report: "Report",
  reportWhy: "Why should a moderator look at this?",
  spam: "Spam",
  abuse: "Abusive",
  offTopic: "Off-topic",
  other: "Other",
  reportText: "Details",
  reportNeedsText: "Please say what is wrong with it.",
  send: "Send",
  reported: "Thanks: a moderator will look at it.",
  notSent: "That could not be sent. Check your connection and try again.",
  /** @type {Record<string, string>} reactions by kind (reactions.js) */
  kinds: { like: "Like", love: "Love", laugh: "Laugh", wow: "Wow", sad: "Sad" },
  react: "React",
  reactions: "Reactions",
  reading: /* @__PURE__ */ counted({ one: "# reading now", other: "# reading now" }),
  sort: "Sort comments",
  /** @type {Record<string, string>} the orders (order.js) */
  orders: { oldest: "Oldest", newest: "Newest", best: "Best" },
  pinned: "Pinned",
  /** top-level comments not shown yet, below the last one shown */
  more: /* @__PURE__ */ counted({ one: "Show # more comment", other: "Show # more comments" }),
  earlier: "Show earlier comments",
};

/** @typedef {typeof en} Strings */
/** @typedef {{lang: string, t: Strings, dir: "ltr" | "rtl"}} Words the strings of one language, and its direction */

// The languages written right to left.
const RTL = ["ar"];
// How long a language's file may take before the widget speaks English rather than wait on.
const LOAD_MS = 10000;

/** @type {Map<string, Promise<Strings>>} one request per language, however many widgets */
const loading = new Map();

/**
 * A language's table, from the shelf if its script has run, else from `${base}/lang/XX.js`.
 * @param {string} lang @param {string} base
 * @returns {Promise<Strings>}
 */
function load(lang, base) {
  let found = loading.get(lang);
  if (!found) {
    found = new Promise((resolve, reject) => {
      const timer = setTimeout(reject, LOAD_MS);
      const ready = () => {
        const t = shelf()[lang];
        if (t) {
          clearTimeout(timer);
          removeEventListener(LOADED, ready);
          resolve(t);
        }
        return !!t;
      };
      if (ready()) return;
      addEventListener(LOADED, ready);
      const script = document.createElement("script");
      const version = versions;
      script.src = `${base}/lang/${lang}${version ? `.${version}` : ""}.js`;
      const fail = () => {
        clearTimeout(timer);
        removeEventListener(LOADED, ready);
        reject(new Error(`no strings for ${lang}`));
      };
      script.onerror = fail;
      // It ran before its load event: if it left nothing, it never will.
      script.onload = () => ready() || fail();
      document.head.append(script);
    });
    loading.set(lang, found);
  }
  return found;
}

/**
 * The strings for a language tag such as "pt-BR" (by its primary subtag), and the direction
 * its text runs; English for a language we do not have or whose file could not be loaded.
 * @param {string} tag
 * @param {string} base where this script came from: the language files are beside it
 * @returns {Promise<Words>}
 */
export async function words(tag, base) {
  const lang = (tag || "en").toLowerCase().split(/[-_]/)[0];
  if (LANGUAGES.includes(lang)) {
    try {
      // Over English: a key a stale file lacks still shows something.
      return { lang, t: { ...en, ...(await load(lang, base)) }, dir: RTL.includes(lang) ? "rtl" : "ltr" };
    } catch {
      // English, below.
    }
  }
  return { lang: "en", t: en, dir: "ltr" };
}

export const moderatorEn = {
  remove: "Remove",
  restore: "Restore",
  approve: "Approve",
  reject: "Reject",
  lock: "Close comments",
  unlock: "Reopen comments",
  token: "Moderator token",
  useToken: "Moderate",
  forget: "Forget token",
  retitle: "Title and URL",
  articleTitle: "The article's title (in reply mails)",
  articleUrl: "The article's URL (reply mails link to it)",
  badToken: "That token was not accepted.",
  /** @param {number} n */
  queue: (n) => plural(n, "# comment to review", "# comments to review"),
  held: "Held",
  heldEdit: "Edit held",
  flagged: "Flagged",
  decisions: "Decisions",
  refresh: "Refresh",
  older: "Load more",
  /** @param {string} id @param {string} thread */
  onComment: (id, thread) => `comment ${id} in ${thread}`,
  /** @param {string} thread */
  onThread: (thread) => `thread ${thread}`,
  banOpen: "Ban…",
  /** @param {string} name */
  banTitle: (name) => `Ban ${name}`,
  banMode: "What",
  modeBan: "Ban",
  modeDay: "Suspend 1 day",
  modeWeek: "Suspend 7 days",
  modeMonth: "Suspend 30 days",
  modeShadow: "Shadow-ban (only they see their new comments)",
  banWho: "By",
  whoBest: "Best available",
  whoAccount: "Account",
  whoEmail: "Email",
  whoAddress: "Address",
  banRemove: "Remove their comments",
  removeNone: "No",
  removeThread: "In this thread",
  removeSite: "On the whole site",
  banReason: "Reason (optional)",
  banSubmit: "Apply",
  /** @param {number} n */
  bans: (n) => plural(n, "# ban", "# bans"),
  noBans: "Nobody is banned.",
  lift: "Lift",
  /** @param {string} who */
  liftNamed: (who) => `Lift the ban on ${who}`,
  lifted: "Ban lifted.",
  /** @type {Record<string, string>} what a ban is keyed by */
  keys: { account: "account", email: "email", address: "address" },
  someone: "someone",
  banned: "banned",
  /** @param {string} when */
  bannedUntil: (when) => `banned until ${when}`,
  shadowBanned: "shadow-banned",
  /** @param {string} when */
  shadowBannedUntil: (when) => `shadow-banned until ${when}`,
  /** @param {string} when */
  suspended: (when) => `suspended until ${when}`,
  /** @param {string} by @param {string} when */
  byAt: (by, when) => `by ${by}, ${when}`,
  /** @param {number} n */
  removedCount: (n) => plural(n, "# comment removed", "# comments removed"),
};

/** @typedef {typeof moderatorEn} ModeratorStrings */

/** @type {Partial<ModeratorStrings>} */
const moderatorDe = {
  remove: "Entfernen",
  restore: "Wiederherstellen",
  approve: "Freigeben",
  reject: "Ablehnen",
  lock: "Kommentare schließen",
  unlock: "Kommentare öffnen",
  token: "Moderations-Token",
  useToken: "Moderieren",
  forget: "Token vergessen",
  retitle: "Titel und URL",
  articleTitle: "Der Titel des Artikels (in Antwort-Mails)",
  articleUrl: "Die URL des Artikels (Antwort-Mails verlinken sie)",
  badToken: "Dieses Token wurde nicht akzeptiert.",
  queue: (n) => plural(n, "# Kommentar zu prüfen", "# Kommentare zu prüfen"),
  held: "Zurückgehalten",
  heldEdit: "Änderung zurückgehalten",
  flagged: "Markiert",
  decisions: "Entscheidungen",
  refresh: "Aktualisieren",
  older: "Mehr laden",
  onComment: (id, thread) => `Kommentar ${id} in ${thread}`,
  onThread: (thread) => `Thread ${thread}`,
  banOpen: "Sperren…",
  banTitle: (name) => `${name} sperren`,
  banMode: "Was",
  modeBan: "Sperren",
  modeDay: "1 Tag aussetzen",
  modeWeek: "7 Tage aussetzen",
  modeMonth: "30 Tage aussetzen",
  modeShadow: "Schattensperre (nur die Person sieht ihre neuen Kommentare)",
  banWho: "Nach",
  whoBest: "Bestem verfügbaren Merkmal",
  whoAccount: "Konto",
  whoEmail: "E-Mail",
  whoAddress: "Adresse",
  banRemove: "Ihre Kommentare entfernen",
  removeNone: "Nein",
  removeThread: "In diesem Thread",
  removeSite: "Auf der ganzen Site",
  banReason: "Grund (optional)",
  banSubmit: "Anwenden",
  bans: (n) => plural(n, "# Sperre", "# Sperren"),
  noBans: "Niemand ist gesperrt.",
  lift: "Aufheben",
  liftNamed: (who) => `Sperre von ${who} aufheben`,
  lifted: "Sperre aufgehoben.",
  keys: { account: "Konto", email: "E-Mail", address: "Adresse" },
  someone: "jemand",
  banned: "gesperrt",
  bannedUntil: (when) => `gesperrt bis ${when}`,
  shadowBanned: "schattengesperrt",
  shadowBannedUntil: (when) => `schattengesperrt bis ${when}`,
  suspended: (when) => `ausgesetzt bis ${when}`,
  byAt: (by, when) => `von ${by}, ${when}`,
  removedCount: (n) => plural(n, "# Kommentar entfernt", "# Kommentare entfernt"),
};

/** @type {Record<string, Partial<ModeratorStrings>>} */
const moderatorLanguages = { en: moderatorEn, de: moderatorDe };

/**
 * The moderators' strings for a language `words` chose, English for anything missing.
 * @param {string} lang
 * @returns {ModeratorStrings}
 */
export function pickModerator(lang) {
  return { ...moderatorEn, ...moderatorLanguages[lang] };
}
