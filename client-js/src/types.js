// Shapes of the wire contract (v1) as JSDoc types, checked by `tsc --checkJs`.

/**
 * @typedef {{name: string, url: string | null, avatar?: string | null, key?: string | null, badges?: string[]}} Author
 * @typedef {{site: string, policy: string, name: string, key: string, avatar: string | null}} Account
 * @typedef {"visible" | "pending" | "removed"} Status
 * @typedef {{
 *   id: string, parent: string | null, status: Status, author: Author | null,
 *   html: string | null, created: string, edited?: string | null, pinned?: boolean
 * }} Comment
 * @typedef {{
 *   site: string, thread: string, seq: number, count: number, locked: boolean,
 *   comments: Comment[], edit_window?: number, moderator?: boolean, title?: string, url?: string,
 *   next?: string | null, prev?: string | null, top_level?: number
 * }} Snapshot
 *   A page (`page=1`) adds `next` and `prev` (the `after` cursors of the pages either side, null
 *   where there is none) and `top_level` (top-level comments in the whole thread).
 * @typedef {Snapshot} Page
 * @typedef {{
 *   site: string, thread: string, state: "pending" | "flagged", comment: Comment,
 *   reason: string | null, by: string | null, edit?: boolean, actions?: string[]
 * }} QueueItem
 * @typedef {{
 *   id: number, site: string, at: number, by: string, action: string, thread: string | null,
 *   comment_id: string | null, subject: string | null, reason: string | null
 * }} AuditEntry
 * @typedef {"hello" | "resync" | "presence" | "reactions" | "comment.created" | "comment.edited" | "comment.removed"
 *   | "comment.restored" | "comment.approved" | "thread.locked" | "thread.unlocked" | "comment.own"} FrameType
 * @typedef {{id: string, version: number, counts: Record<string, number>}} Counts
 * @typedef {{type: FrameType, seq?: number, comment?: Comment, id?: string,
 *   locked?: boolean, reason?: string, code?: string, message?: string,
 *   comments?: Counts[], count?: number}} Frame
 *   `comment.own` has no seq: the reader's own comment that only they see (a shadow-banned author).
 *   `reactions` (comments' counts by kind, each with its version) and `presence` (`count`
 *   readers now) have no seq either: state, not events.
 * @typedef {"account" | "email" | "address"} BanKey
 * @typedef {{
 *   id: number, key: BanKey, value: string, mode: "ban" | "suspend" | "shadow", until: string | null,
 *   reason: string | null, by: string, at: string, label: string
 * }} Ban
 */

/**
 * The moderators' page around one widget, from moderate.js (server/web/static/moderate.js):
 * the widget asks it for what only moderators have.
 * @typedef {{
 *   ready(): boolean,
 *   refused(error: unknown): boolean,
 *   open(): void,
 *   tools(): Node[],
 *   locked(): void,
 *   actions(c: Comment): Node[],
 * }} Desk
 * `ready`: a token is known (else a form asks for one and starts the widget again once given);
 * `refused`: whether the error is the token refused (then it is forgotten and asked for again);
 * `open`: the thread is live: the site's queue, bans and decisions go above it;
 * `tools`: the toolbar, after each load; `locked`: the thread was locked or unlocked;
 * `actions`: a moderator's buttons on a comment.
 * @typedef {(w: import("./widget.js").Widget) => Desk} DeskMaker
 */

export {};
