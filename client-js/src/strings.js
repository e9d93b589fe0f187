// Every string the widget shows, per language. English is the fallback for anything missing.
// The moderators' strings are tables of their own, used only by moderate.js: the readers' bundle
// leaves them out (esbuild drops what embed.js never imports).

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => (n === 1 ? one : many).replace("#", String(n));

export const en = {
  /** @param {number} n */
  count: (n) => plural(n, "# Comment", "# Comments"),
  /** @param {number} n */
  fresh: (n) => plural(n, "# new comment", "# new comments"),
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
  /** @param {number} n */
  reading: (n) => `${n} reading now`,
  sort: "Sort comments",
  /** @type {Record<string, string>} the orders (order.js) */
  orders: { oldest: "Oldest", newest: "Newest", best: "Best" },
  pinned: "Pinned",
};

/** @typedef {typeof en} Strings */

/** @type {Partial<Strings>} */
const de = {
  count: (n) => plural(n, "# Kommentar", "# Kommentare"),
  fresh: (n) => plural(n, "# neuer Kommentar", "# neue Kommentare"),
  removed: "Dieser Kommentar wurde entfernt",
  pending: "Wartet auf Freigabe",
  editPending: "Änderung wartet auf Freigabe",
  removedMod: "Entfernt",
  reply: "Antworten",
  replyTo: (name) => `Antwort an ${name}`,
  leave: "Schreibe eine Antwort",
  roles: { admin: "Admin", moderator: "Moderation", staff: "Redaktion", author: "Autor" },
  edit: "Bearbeiten",
  del: "Löschen",
  save: "Speichern",
  cancel: "Abbrechen",
  post: "Kommentar senden",
  comment: "Kommentar",
  name: "Name",
  email: "E-Mail (optional, wird nie angezeigt)",
  notify: "Benachrichtige mich per E-Mail über Antworten",
  website: "Website (optional)",
  nameRequired: "Bitte gib hier deinen Namen ein",
  bodyRequired: "Bitte schreibe einen Kommentar!",
  locked: "Die Kommentare zu diesem Artikel sind geschlossen.",
  reconnecting: "Verbindung wird wiederhergestellt…",
  loading: "Kommentare werden geladen…",
  unloaded: "Die Kommentare konnten nicht geladen werden. Bitte versuche es später erneut.",
  empty: "Noch keine Kommentare. Schreib den ersten!",
  notHere: "Kommentare sind für diese Adresse nicht eingerichtet.",
  posted: "Dein Kommentar wurde veröffentlicht.",
  failed: "Dein Kommentar konnte nicht gesendet werden. Bitte versuche es erneut.",
  tooFast: "Du kommentierst zu schnell. Bitte warte einen Moment und versuche es erneut.",
  sure: "Deinen Kommentar löschen?",
  edited: "bearbeitet",
  by: (name) => `Kommentar von ${name}`,
  link: "Link zu diesem Kommentar",
  signedIn: (name) => `Angemeldet als ${name}`,
  signInFirst: "Zum Kommentieren bitte anmelden.",
  expired: "Deine Anmeldung ist abgelaufen: bitte erneut anmelden.",
  report: "Melden",
  reportWhy: "Warum sollte sich das jemand aus der Moderation ansehen?",
  spam: "Spam",
  abuse: "Beleidigend",
  offTopic: "Am Thema vorbei",
  other: "Anderes",
  reportText: "Details",
  reportNeedsText: "Bitte beschreibe, was daran nicht stimmt.",
  send: "Senden",
  reported: "Danke: die Moderation sieht es sich an.",
  notSent: "Das konnte nicht gesendet werden. Bitte versuche es erneut.",
  kinds: { like: "Gefällt mir", love: "Liebe", laugh: "Lustig", wow: "Wow", sad: "Traurig" },
  react: "Reagieren",
  reactions: "Reaktionen",
  reading: (n) => `${n} lesen gerade`,
  sort: "Kommentare sortieren",
  orders: { oldest: "Älteste", newest: "Neueste", best: "Beste" },
  pinned: "Angeheftet",
};

/** @type {Record<string, Partial<Strings>>} */
const languages = { en, de };

/**
 * The strings for a language tag such as "de-AT" (by its primary subtag), English otherwise.
 * @param {string} tag
 * @returns {{lang: string, t: Strings}}
 */
export function pick(tag) {
  const lang = (tag || "en").toLowerCase().split("-")[0];
  const table = languages[lang];
  return table ? { lang, t: { ...en, ...table } } : { lang: "en", t: en };
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
  more: "Load more",
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
  more: "Mehr laden",
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
 * The moderators' strings for a language `pick` chose, English for anything missing.
 * @param {string} lang
 * @returns {ModeratorStrings}
 */
export function pickModerator(lang) {
  return { ...moderatorEn, ...moderatorLanguages[lang] };
}
