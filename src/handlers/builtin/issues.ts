/**
 * Built-in issues and notes. Each creation runs in the caller's transaction
 * and first takes the row lock of its parent (project or issue), then looks
 * for an effect of the same inbound email: a retried or replayed email finds
 * it and creates nothing: an email causes its effect at most once.
 */
import { randomBytes } from 'node:crypto'
import type { PoolClient, Queryable } from '../../db/pool.ts'
import { addressFor } from './projects.ts'

/** GitLab's legacy reply key: 32 hex characters. */
export const newReplyKey = (): string => randomBytes(16).toString('hex')

export interface CreatedIssue { issueId: number, iid: number, replyKey: string, created: boolean }
export interface CreatedNote { noteId: number, issueId: number, replyKey: string, created: boolean }

export interface NewIssue {
  projectId: number
  title: string
  description: string
  author: string
  serviceDesk: boolean
  messageId: string
  emailId: number
  wildcard: string | null
}

export async function createIssue (client: PoolClient, i: NewIssue): Promise<CreatedIssue> {
  await client.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [i.projectId])
  const existing = await client.query<{ id: number, iid: number, reply_key: string }>('SELECT id, iid, reply_key FROM issues WHERE inbound_email_id = $1', [i.emailId])
  if (existing.rows.length > 0) {
    const r = existing.rows[0]
    return { issueId: r.id, iid: r.iid, replyKey: r.reply_key, created: false }
  }
  const { rows: [{ iid }] } = await client.query<{ iid: number }>(
    'UPDATE projects SET last_issue_iid = last_issue_iid + 1 WHERE id = $1 RETURNING last_issue_iid AS iid', [i.projectId])
  const replyKey = newReplyKey()
  const { rows: [{ id }] } = await client.query<{ id: number }>(
    `INSERT INTO issues (project_id, iid, title, description, author, service_desk, reply_key, reply_address, message_id, inbound_email_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [i.projectId, iid, i.title, i.description, i.author, i.serviceDesk, replyKey, addressFor(i.wildcard, replyKey), i.messageId, i.emailId])
  return { issueId: id, iid, replyKey, created: true }
}

export interface NewNote { issueId: number, body: string, author: string, messageId: string, emailId: number, wildcard: string | null }

export async function createNote (client: PoolClient, n: NewNote): Promise<CreatedNote> {
  await client.query('SELECT 1 FROM issues WHERE id = $1 FOR UPDATE', [n.issueId])
  const existing = await client.query<{ id: number, issue_id: number, reply_key: string }>('SELECT id, issue_id, reply_key FROM notes WHERE inbound_email_id = $1', [n.emailId])
  if (existing.rows.length > 0) {
    const r = existing.rows[0]
    return { noteId: r.id, issueId: r.issue_id, replyKey: r.reply_key, created: false }
  }
  const replyKey = newReplyKey()
  const { rows: [{ id }] } = await client.query<{ id: number }>(
    `INSERT INTO notes (issue_id, body, author, reply_key, reply_address, message_id, inbound_email_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [n.issueId, n.body, n.author, replyKey, addressFor(n.wildcard, replyKey), n.messageId, n.emailId])
  return { noteId: id, issueId: n.issueId, replyKey, created: true }
}

export interface IssueRef { issueId: number, projectId: number, iid: number, serviceDesk: boolean }

const ISSUE_REF = 'i.id AS "issueId", i.project_id AS "projectId", i.iid, i.service_desk AS "serviceDesk"'

/** The issue a reply key belongs to: the issue's own key or one of its notes'. */
export async function issueByReplyKey (db: Queryable, key: string): Promise<IssueRef | null> {
  const { rows } = await db.query<IssueRef>(
    `SELECT ${ISSUE_REF} FROM issues i WHERE i.reply_key = $1
     UNION ALL SELECT ${ISSUE_REF} FROM notes n JOIN issues i ON i.id = n.issue_id WHERE n.reply_key = $1 LIMIT 1`, [key.toLowerCase()])
  return rows[0] ?? null
}

export async function issueByIid (db: Queryable, projectId: number, iid: number): Promise<IssueRef | null> {
  const { rows } = await db.query<IssueRef>(`SELECT ${ISSUE_REF} FROM issues i WHERE i.project_id = $1 AND i.iid = $2`, [projectId, iid])
  return rows[0] ?? null
}

/** A Service Desk issue of this project that one of these Message-IDs belongs to (a reply to its thread). */
export async function serviceDeskThread (db: Queryable, projectId: number, messageIds: string[]): Promise<IssueRef | null> {
  if (messageIds.length === 0) return null
  const { rows } = await db.query<IssueRef>(
    `SELECT ${ISSUE_REF} FROM issues i WHERE i.project_id = $1 AND i.service_desk AND i.message_id = ANY($2::text[])
     UNION ALL
     SELECT ${ISSUE_REF} FROM notes n JOIN issues i ON i.id = n.issue_id
       WHERE i.project_id = $1 AND i.service_desk AND n.message_id = ANY($2::text[])
     LIMIT 1`, [projectId, messageIds])
  return rows[0] ?? null
}

export async function unsubscribe (db: Queryable, issueId: number, address: string, emailId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO unsubscribes (issue_id, address, inbound_email_id) VALUES ($1, lower($2), $3) ON CONFLICT DO NOTHING', [issueId, address, emailId])
  return rowCount === 1
}
