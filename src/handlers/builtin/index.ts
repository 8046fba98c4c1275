/**
 * The built-in handler: route by the address key, find what the key names in
 * the built-in store, and create the issue, note or unsubscribe.
 *
 * The emails of one handled batch are handled together: each is routed and
 * looked up in order, and the issues and notes they ask for are written at
 * the end in one transaction (issues.ts: one lock per project, iids allocated
 * in one statement, multi-row inserts). A lookup that misses while writes are
 * pending writes them first and looks again, so a reply still finds the
 * issue an email before it in the batch created. Unsubscribes, verifications
 * and rejections are done (or decided) right away, email by email. Every
 * effect is idempotent by inbound email id (see issues.ts).
 */
import type { AppContext } from '../../context.ts'
import type { Mailbox } from '../../mailboxes/types.ts'
import { transaction, type PoolClient, type Queryable } from '../../db/pool.ts'
import { routeFor } from '../route-for.ts'
import type { KeyMatch } from '../../routing/matchers.ts'
import type { RoutingResult } from '../../routing/route.ts'
import type { ParsedAttachment, ParsedEmail } from '../../parsing/types.ts'
import { issueDescription, replyBody } from '../../parsing/body.ts'
import type { Outcome } from '../../inbound/lifecycle.ts'
import type { StoredEmail } from '../types.ts'
import { asError } from '../../shared/errors.ts'
import { storeAttachments } from './attachments.ts'
import {
  createIssues, createNotes, issueByIid, issuesByReplyKeys, serviceDeskThread, unsubscribe, type IssueRef, type NewIssue, type NewNote
} from './issues.ts'
import { customServiceDeskAddresses, getProject, projectByIdAndSlug, projectByPath, projectByServiceDeskKey, type Project } from './projects.ts'

export interface BuiltinEmail { email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox }

/** What the batch shares: its reply keys looked up at once, and the writes it has not done yet. */
interface Batch {
  replyKeys: Map<string, IssueRef>
  /** Does the pending writes; false when there were none. */
  settle: () => Promise<boolean>
}

interface Job extends BuiltinEmail { ctx: Pick<AppContext, 'pool'>, batch: Batch }

/** An issue or note an email asks for, written with the others of its batch. */
type Write =
  | { kind: 'issue', issue: NewIssue, handler: 'create_issue' | 'service_desk', attachments: ParsedAttachment[] }
  | { kind: 'note', note: NewNote, on: IssueRef, handler: 'create_note' | 'service_desk', attachments: ParsedAttachment[] }

type Decision = Outcome | Write

const rejected = (reason: Extract<Outcome, { status: 'rejected' }>['reason'], detail: string): Outcome => ({ status: 'rejected', reason, detail })

function author (parsed: ParsedEmail): string {
  return parsed.from?.address ?? parsed.sender?.address ?? 'unknown'
}

/** Service Desk answers whoever asked: Reply-To first, as GitLab does. */
function serviceDeskAuthor (parsed: ParsedEmail): string {
  return parsed.replyTo[0]?.address ?? author(parsed)
}

/** A lookup that may name what an email before it in the batch asked for: on a miss, pending writes are done and it looks again. */
async function found<T> (j: Job, find: () => Promise<T | null>): Promise<T | null> {
  return await find() ?? (await j.batch.settle() ? await find() : null)
}

/**
 * A note on an issue. A reply loses its quotes and signature; a mail sent to
 * an issue's own note address keeps them (GitLab's "forwardable" notes).
 */
function addNote (j: Job, issue: IssueRef, handler: 'create_note' | 'service_desk', keepQuotes = false): Decision {
  const body = keepQuotes ? issueDescription(j.parsed) : replyBody(j.parsed)
  const files = j.parsed.attachments.filter(a => !a.isSignature)
  if (body === '' && files.length === 0) return rejected('empty', 'nothing is left of the reply once quotes and signature are removed')
  const note: NewNote = {
    issueId: issue.issueId, body, author: handler === 'service_desk' ? serviceDeskAuthor(j.parsed) : author(j.parsed),
    messageId: j.parsed.messageId, emailId: j.email.id, wildcard: j.mailbox.spec.address ?? null
  }
  return { kind: 'note', note, on: issue, handler, attachments: j.parsed.attachments }
}

function addIssue (j: Job, project: Project, serviceDesk: boolean): Decision {
  const title = j.parsed.subject.trim()
  const description = issueDescription(j.parsed)
  if (title === '' && description === '') return rejected('empty', 'neither a subject nor a body')
  const issue: NewIssue = {
    projectId: project.id, title: title === '' ? '(no subject)' : title, description,
    author: serviceDesk ? serviceDeskAuthor(j.parsed) : author(j.parsed), serviceDesk,
    messageId: j.parsed.messageId, emailId: j.email.id, wildcard: j.mailbox.spec.address ?? project.address
  }
  return { kind: 'issue', issue, handler: serviceDesk ? 'service_desk' : 'create_issue', attachments: j.parsed.attachments }
}

/** Writes issues and notes in the caller's transaction; each one's outcome, in the order given. */
async function write (client: PoolClient, writes: Write[]): Promise<Outcome[]> {
  const issueWrites = writes.filter(w => w.kind === 'issue')
  const noteWrites = writes.filter(w => w.kind === 'note')
  const issues = await createIssues(client, issueWrites.map(w => w.issue))
  const notes = await createNotes(client, noteWrites.map(w => w.note))
  const written = [
    ...issueWrites.map((w, i) => {
      const c = issues[i]
      const result = { projectId: w.issue.projectId, issueId: c.issueId, iid: c.iid, replyKey: c.replyKey, created: c.created }
      return { w, created: c.created, owner: { issueId: c.issueId }, result }
    }),
    ...noteWrites.map((w, i) => {
      const c = notes[i]
      const { projectId, issueId, iid } = w.on
      const result = { projectId, issueId, iid, noteId: c.noteId, replyKey: c.replyKey, created: c.created }
      return { w, created: c.created, owner: { noteId: c.noteId }, result }
    })
  ]
  const fresh = written.filter(x => x.created)
  const summaries = await storeAttachments(client, fresh.map(x => ({ owner: x.owner, attachments: x.w.attachments })))
  const outcomes = new Map(written.map((x): [Write, Outcome] => {
    const attachments = x.created ? summaries[fresh.indexOf(x)] : undefined
    return [x.w, { status: 'delivered', handler: x.w.handler, result: { ...x.result, attachments } }]
  }))
  return writes.map(w => outcomes.get(w) as Outcome)
}

/** A project lookup: the same for every email of a batch, so done once per batch. */
async function cached (j: Job, key: string, load: (db: Queryable) => Promise<Project | null>): Promise<Project | null> {
  return await j.email.memo.once(`project:${key}`, async () => await load(j.ctx.pool))
}

/** The project a key names, with its token checked where the key carries one. */
async function projectFor (j: Job, match: KeyMatch): Promise<Project | null> {
  const byId = async (id: number): Promise<Project | null> => await cached(j, `id:${id}`, async db => await getProject(db, id))
  if (match.handler === 'service_desk_verification') return await byId(Number(match.projectRef))
  if (!('form' in match)) return null
  switch (match.form) {
    case 'project_id': {
      const p = await cached(j, `slug:${match.projectId}:${match.projectSlug}`, async db => await projectByIdAndSlug(db, match.projectId, match.projectSlug))
      return p !== null && (!('token' in match) || match.token === p.incomingEmailToken) ? p : null
    }
    case 'legacy': {
      if (!('projectPath' in match)) return null
      const path = match.projectPath
      const p = await cached(j, `path:${path.toLowerCase()}`, async db => await projectByPath(db, path))
      return p !== null && (!('token' in match) || match.token === p.incomingEmailToken) ? p : null
    }
    case 'service_desk_key': {
      const { projectSlug: slug, serviceDeskKey: key } = match
      return await cached(j, `desk:${slug}:${key}`, async db => await projectByServiceDeskKey(db, slug, key))
    }
    case 'custom_address': return await byId(Number(match.projectRef))
    default: return null
  }
}

async function serviceDesk (j: Job, project: Project | null): Promise<Decision> {
  if (project === null) return rejected('project_not_found', 'the Service Desk key names no project')
  if (!project.serviceDesk) return rejected('service_desk_disabled', `Service Desk is off for ${project.path}`)
  const threadIds = [j.parsed.inReplyTo, ...j.parsed.references].filter((x): x is string => x !== null)
  const thread = threadIds.length === 0 ? null : await found(j, async () => await serviceDeskThread(j.ctx.pool, project.id, threadIds))
  return thread !== null ? addNote(j, thread, 'service_desk') : addIssue(j, project, true)
}

async function decide (j: Job, match: KeyMatch): Promise<Decision> {
  switch (match.handler) {
    case 'create_note':
    case 'unsubscribe': {
      const key = match.replyKey.value.toLowerCase()
      const issue = j.batch.replyKeys.get(key) ?? await found(j, async () => (await issuesByReplyKeys(j.ctx.pool, [key])).get(key) ?? null)
      if (issue === null) return rejected('issue_not_found', 'no issue or note has this reply key')
      if (match.handler === 'create_note') return addNote(j, issue, 'create_note')
      const added = await unsubscribe(j.ctx.pool, issue.issueId, author(j.parsed), j.email.id)
      return { status: 'delivered', handler: 'unsubscribe', result: { issueId: issue.issueId, address: author(j.parsed).toLowerCase(), created: added } }
    }
    case 'create_issue': {
      const project = await projectFor(j, match)
      return project === null ? rejected('project_not_found', 'no project with this id, slug and token') : addIssue(j, project, false)
    }
    case 'create_note_on_issuable': {
      const project = await projectFor(j, match)
      if (project === null) return rejected('project_not_found', 'no project with this id, slug and token')
      const issue = await found(j, async () => await issueByIid(j.ctx.pool, project.id, match.iid))
      return issue === null ? rejected('issue_not_found', `no issue #${match.iid}`) : addNote(j, issue, 'create_note', true)
    }
    case 'create_merge_request':
      return rejected('unsupported', 'merge requests by email are not handled by the built-in store')
    case 'service_desk':
      return await serviceDesk(j, await projectFor(j, match))
    case 'service_desk_verification': {
      const project = await projectFor(j, match)
      if (project === null) return rejected('project_not_found', 'the custom address names no project')
      return { status: 'delivered', handler: 'service_desk', result: { projectId: project.id, verification: true } }
    }
  }
}

async function decideRouted (j: Job, routing: RoutingResult): Promise<Decision> {
  if (routing.outcome === 'handle') return await decide(j, routing.match)
  // a mailbox bound to one project's Service Desk takes mail without a key
  if (routing.reason === 'no_key' && j.mailbox.spec.serviceDeskProjectId !== undefined) {
    const id = j.mailbox.spec.serviceDeskProjectId
    return await serviceDesk(j, await cached(j, `id:${id}`, async db => await getProject(db, id)))
  }
  return rejected(routing.reason, routing.detail)
}

/**
 * Handles the built-in emails of one batch, in the order given; each one's
 * outcome, or the error that kept it from one (to be retried). Writes that
 * fail together are tried again one email at a time, so one bad email does
 * not hold back the others.
 */
export async function handleBuiltinBatch (ctx: Pick<AppContext, 'pool'>, emails: BuiltinEmail[]): Promise<Array<Outcome | Error>> {
  const results: Array<Outcome | Error> = emails.map(() => new Error('not handled'))
  const pending: Array<{ at: number, write: Write }> = []
  const settle = async (): Promise<boolean> => {
    if (pending.length === 0) return false
    const writes = pending.splice(0)
    try {
      const outcomes = await transaction(ctx.pool, async client => await write(client, writes.map(p => p.write)))
      for (const [n, p] of writes.entries()) results[p.at] = outcomes[n]
    } catch {
      for (const p of writes) {
        results[p.at] = await transaction(ctx.pool, async client => (await write(client, [p.write]))[0]).catch(asError)
      }
    }
    return true
  }
  if (emails.length === 0) return results
  let routings: RoutingResult[]
  let batch: Batch
  try {
    const customAddresses = await customServiceDeskAddresses(ctx.pool)
    routings = emails.map(e => routeFor(e.parsed, e.mailbox, { customServiceDeskAddresses: customAddresses }))
    const keys = routings.flatMap(r => r.outcome === 'handle' && 'replyKey' in r.match ? [r.match.replyKey.value] : [])
    batch = { replyKeys: keys.length === 0 ? new Map() : await issuesByReplyKeys(ctx.pool, keys), settle }
  } catch (err) {
    // a lookup every email needs: each fails with it (and is retried)
    return emails.map(() => asError(err))
  }
  for (const [at, e] of emails.entries()) {
    try {
      const decision = await decideRouted({ ...e, ctx, batch }, routings[at])
      if ('kind' in decision) pending.push({ at, write: decision })
      else results[at] = decision
    } catch (err) {
      results[at] = asError(err)
    }
  }
  await settle()
  return results
}
