/**
 * Built-in issues and notes, created a batch at a time in the caller's
 * transaction. Each row names the inbound email that caused it (UNIQUE): an
 * email already handled finds its row and creates nothing, so a retried or
 * replayed email causes its effect at most once.
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

/**
 * Issues of several emails, by email id. The projects' rows are locked first
 * (in id order: two batches never wait on each other in a circle), so the
 * existence check and the iid allocation see every committed issue of these
 * projects; each project's new iids follow on in the order given, allocated
 * in the same statement that inserts them.
 */
export async function createIssues (client: PoolClient, issues: NewIssue[]): Promise<CreatedIssue[]> {
  if (issues.length === 0) return []
  const created = new Map<number, CreatedIssue>()
  await client.query('SELECT 1 FROM projects WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [[...new Set(issues.map(i => i.projectId))]])
  const keys = issues.map(() => newReplyKey())
  const { rows } = await client.query<{ id: number, iid: number, reply_key: string, email_id: number, created: boolean }>(
    `WITH input AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::text[], $8::text[], $9::bigint[])
         WITH ORDINALITY AS t(project_id, title, description, author, service_desk, reply_key, reply_address, message_id, email_id, ord)
     ), existing AS (
       SELECT id, iid, reply_key, inbound_email_id AS email_id FROM issues WHERE inbound_email_id = ANY($9::bigint[])
     ), fresh AS (
       SELECT input.*, row_number() OVER (PARTITION BY project_id ORDER BY ord) AS n FROM input
       WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.email_id = input.email_id)
     ), bumped AS (
       UPDATE projects p SET last_issue_iid = p.last_issue_iid + c.k
       FROM (SELECT project_id, count(*)::int AS k FROM fresh GROUP BY project_id) c
       WHERE p.id = c.project_id RETURNING p.id, p.last_issue_iid - c.k AS base
     ), inserted AS (
       INSERT INTO issues (project_id, iid, title, description, author, service_desk, reply_key, reply_address, message_id, inbound_email_id)
       SELECT f.project_id, b.base + f.n, f.title, f.description, f.author, f.service_desk, f.reply_key, f.reply_address, f.message_id, f.email_id
       FROM fresh f JOIN bumped b ON b.id = f.project_id
       RETURNING id, iid, reply_key, inbound_email_id AS email_id
     )
     SELECT *, true AS created FROM inserted UNION ALL SELECT *, false FROM existing`,
    [issues.map(i => i.projectId), issues.map(i => i.title), issues.map(i => i.description), issues.map(i => i.author),
      issues.map(i => i.serviceDesk), keys, issues.map((i, n) => addressFor(i.wildcard, keys[n])), issues.map(i => i.messageId),
      issues.map(i => i.emailId)])
  for (const r of rows) created.set(r.email_id, { issueId: r.id, iid: r.iid, replyKey: r.reply_key, created: r.created })
  return issues.map(i => {
    const c = created.get(i.emailId)
    // only a project deleted meanwhile leaves an email without its issue
    if (c === undefined) throw new Error(`project ${i.projectId} is gone: no issue for email ${i.emailId}`)
    return c
  })
}

export interface NewNote { issueId: number, body: string, author: string, messageId: string, emailId: number, wildcard: string | null }

/**
 * Notes of several emails, by email id. No lock: a note has no number to
 * allocate, and an email handled by another batch at the same moment meets
 * its row through ON CONFLICT and is read back once that batch committed.
 */
export async function createNotes (client: PoolClient, notes: NewNote[]): Promise<CreatedNote[]> {
  if (notes.length === 0) return []
  const created = new Map<number, CreatedNote>()
  const keys = notes.map(() => newReplyKey())
  const emailIds = notes.map(n => n.emailId)
  const { rows } = await client.query<{ id: number, issue_id: number, reply_key: string, email_id: number, created: boolean }>(
    `WITH inserted AS (
       INSERT INTO notes (issue_id, body, author, reply_key, reply_address, message_id, inbound_email_id)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
       ON CONFLICT (inbound_email_id) DO NOTHING
       RETURNING id, issue_id, reply_key, inbound_email_id AS email_id
     )
     SELECT *, true AS created FROM inserted
     UNION ALL SELECT id, issue_id, reply_key, inbound_email_id, false FROM notes WHERE inbound_email_id = ANY($7::bigint[])`,
    [notes.map(n => n.issueId), notes.map(n => n.body), notes.map(n => n.author), keys,
      notes.map((n, i) => addressFor(n.wildcard, keys[i])), notes.map(n => n.messageId), emailIds])
  for (const r of rows) created.set(r.email_id, { noteId: r.id, issueId: r.issue_id, replyKey: r.reply_key, created: r.created })
  const late = emailIds.filter(id => !created.has(id))
  if (late.length > 0) {
    // inserted by a concurrent batch after this statement's snapshot was taken
    const { rows } = await client.query<{ id: number, issue_id: number, reply_key: string, email_id: number }>(
      'SELECT id, issue_id, reply_key, inbound_email_id AS email_id FROM notes WHERE inbound_email_id = ANY($1::bigint[])', [late])
    for (const r of rows) created.set(r.email_id, { noteId: r.id, issueId: r.issue_id, replyKey: r.reply_key, created: false })
  }
  return notes.map(n => {
    const c = created.get(n.emailId)
    if (c === undefined) throw new Error(`no note for email ${n.emailId}`)
    return c
  })
}

export interface IssueRef { issueId: number, projectId: number, iid: number, serviceDesk: boolean }

const ISSUE_REF = 'i.id AS "issueId", i.project_id AS "projectId", i.iid, i.service_desk AS "serviceDesk"'

/** The issues these reply keys belong to, by key (lower case); keys of no issue are absent. */
export async function issuesByReplyKeys (db: Queryable, keys: string[]): Promise<Map<string, IssueRef>> {
  const { rows } = await db.query<IssueRef & { key: string }>(
    `SELECT i.reply_key AS key, ${ISSUE_REF} FROM issues i WHERE i.reply_key = ANY($1::text[])
     UNION ALL SELECT n.reply_key, ${ISSUE_REF} FROM notes n JOIN issues i ON i.id = n.issue_id WHERE n.reply_key = ANY($1::text[])`,
    [keys.map(k => k.toLowerCase())])
  return new Map(rows.map(({ key, ...ref }) => [key, ref]))
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
