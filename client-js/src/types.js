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
 *   comments: Comment[], edit_window?: number, moderator?: boolean, title?: string, url?: string
 * }} Snapshot
 * @typedef {{
 *   site: string, thread: string, state: "pending" | "flagged", comment: Comment,
 *   reason: string | null, by: string | null, edit?: boolean, actions?: string[]
 * }} QueueItem
 * @typedef {{
 *   id: number, site: string, at: number, by: string, action: string, thread: string | null,
 *   comment_id: string | null, subject: string | null, reason: string | null
 * }} AuditEntry
 * @typedef {{type: string, seq?: number, comment?: Comment, id?: string,
 *   locked?: boolean, reason?: string, code?: string, message?: string}} Frame
 */

export {};
