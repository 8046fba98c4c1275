/**
 * What a run left behind, counted from the outside: effects through the API
 * (issues and notes by the token each email carries), webhook-ids at the
 * sink, flags on the IMAP server; stuck emails from inbound_emails.
 */
import pg from 'pg'
import type { Dovecot } from '../../test/helpers/dovecot.ts'
import type { Sent } from './feed.ts'
import type { Sink } from './sink.ts'

export interface Verdict {
  lost: string[]
  doubled: string[]
  stuck: number
  unseen: number
  /** status:reason of each lost email as mailslot recorded it */
  lostStates: Record<string, number>
  /** emails on the server, over every mailbox (an APPEND retried after a cut may have stored two) */
  onServer: number
}

export type Api = (method: string, url: string, body?: unknown) => Promise<any>

const TOKEN = /chaos\d+x\d+/g

/** token → number of issues and notes that carry it */
async function builtinEffects (api: Api, projectIds: number[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const add = (text: string): void => {
    // one effect per token: an issue's title and description both carry it
    for (const token of new Set(text.match(TOKEN) ?? [])) counts.set(token, (counts.get(token) ?? 0) + 1)
  }
  for (const id of projectIds) {
    const { items } = await api('GET', `/api/v1/projects/${id}/issues`) as { items: Array<{ title: string, description: string, notes: Array<{ body: string }> }> }
    for (const issue of items) {
      add(`${issue.title}\n${issue.description}`)
      for (const note of issue.notes) add(note.body)
    }
  }
  return counts
}

export async function verify (
  sent: Sent[], api: Api, projectIds: number[], sink: Sink, imap: Dovecot, users: string[], databaseUrl: string
): Promise<Verdict> {
  const effects = await builtinEffects(api, projectIds)
  const lost: string[] = []
  const doubled: string[] = []
  for (const s of sent) {
    const n = s.target.kind === 'webhook' ? (sink.ids.get(s.messageId)?.size ?? 0) : (effects.get(s.token) ?? 0)
    if (n === 0) lost.push(s.messageId)
    if (n > 1) doubled.push(s.messageId)
  }
  let unseen = 0
  let onServer = 0
  for (const user of users) {
    const flags = await imap.flags(user, 'INBOX')
    onServer += flags.size
    for (const f of flags.values()) if (!f.includes('\\Seen')) unseen++
  }
  const client = new pg.Client({ connectionString: databaseUrl })
  client.on('error', () => { /* the query below fails instead */ })
  await client.connect()
  try {
    const stuck = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_emails WHERE status IN ('received', 'processing')`)).rows[0].n
    const lostStates: Record<string, number> = {}
    if (lost.length > 0) {
      const { rows } = await client.query<{ state: string, n: number }>(
        `SELECT status || ':' || coalesce(reason, '') AS state, count(*)::int AS n FROM inbound_emails WHERE message_id = ANY($1) GROUP BY 1`, [lost])
      let stored = 0
      for (const r of rows) { lostStates[r.state] = r.n; stored += r.n }
      if (stored < lost.length) lostStates['not stored'] = lost.length - stored
    }
    return { lost, doubled, stuck, unseen, lostStates, onServer }
  } finally {
    await client.end().catch(() => {})
  }
}
