/**
 * The built-in handler: route by the address key, find what the key names in
 * the built-in store, and create the issue, note or unsubscribe. Every effect
 * is idempotent by inbound email id (see issues.ts).
 */
import type { AppContext } from '../../context.ts'
import type { Mailbox } from '../../mailboxes/types.ts'
import { transaction } from '../../db/pool.ts'
import { routeFor } from '../route-for.ts'
import type { KeyMatch } from '../../routing/matchers.ts'
import type { ParsedEmail } from '../../parsing/types.ts'
import { issueDescription, replyBody } from '../../parsing/body.ts'
import type { Outcome } from '../../inbound/lifecycle.ts'
import type { StoredEmail } from '../types.ts'
import { storeAttachments } from './attachments.ts'
import { createIssue, createNote, issueByIid, issueByReplyKey, serviceDeskThread, unsubscribe, type IssueRef } from './issues.ts'
import { customServiceDeskAddresses, getProject, projectByIdAndSlug, projectByPath, projectByServiceDeskKey, type Project } from './projects.ts'

interface Job { ctx: Pick<AppContext, 'pool'>, email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox }

const rejected = (reason: Extract<Outcome, { status: 'rejected' }>['reason'], detail: string): Outcome => ({ status: 'rejected', reason, detail })

function author (parsed: ParsedEmail): string {
  return parsed.from?.address ?? parsed.sender?.address ?? 'unknown'
}

/** Service Desk answers whoever asked: Reply-To first, as GitLab does. */
function serviceDeskAuthor (parsed: ParsedEmail): string {
  return parsed.replyTo[0]?.address ?? author(parsed)
}

/**
 * A note on an issue. A reply loses its quotes and signature; a mail sent to
 * an issue's own note address keeps them (GitLab's "forwardable" notes).
 */
async function addNote (j: Job, issue: IssueRef, handler: 'create_note' | 'service_desk', keepQuotes = false): Promise<Outcome> {
  const body = keepQuotes ? issueDescription(j.parsed) : replyBody(j.parsed)
  const files = j.parsed.attachments.filter(a => !a.isSignature)
  if (body === '' && files.length === 0) return rejected('empty', 'nothing is left of the reply once quotes and signature are removed')
  return await transaction(j.ctx.pool, async (client) => {
    const note = await createNote(client, {
      issueId: issue.issueId, body, author: handler === 'service_desk' ? serviceDeskAuthor(j.parsed) : author(j.parsed),
      messageId: j.parsed.messageId, emailId: j.email.id, wildcard: j.mailbox.spec.address ?? null
    })
    const attachments = note.created ? await storeAttachments(client, { noteId: note.noteId }, j.parsed.attachments) : undefined
    return { status: 'delivered', handler, result: { projectId: issue.projectId, issueId: issue.issueId, iid: issue.iid, noteId: note.noteId, replyKey: note.replyKey, created: note.created, attachments } }
  })
}

async function addIssue (j: Job, project: Project, serviceDesk: boolean): Promise<Outcome> {
  const title = j.parsed.subject.trim()
  const description = issueDescription(j.parsed)
  if (title === '' && description === '') return rejected('empty', 'neither a subject nor a body')
  return await transaction(j.ctx.pool, async (client) => {
    const issue = await createIssue(client, {
      projectId: project.id, title: title === '' ? '(no subject)' : title, description,
      author: serviceDesk ? serviceDeskAuthor(j.parsed) : author(j.parsed), serviceDesk,
      messageId: j.parsed.messageId, emailId: j.email.id, wildcard: j.mailbox.spec.address ?? project.address
    })
    const attachments = issue.created ? await storeAttachments(client, { issueId: issue.issueId }, j.parsed.attachments) : undefined
    return { status: 'delivered', handler: serviceDesk ? 'service_desk' : 'create_issue', result: { projectId: project.id, issueId: issue.issueId, iid: issue.iid, replyKey: issue.replyKey, created: issue.created, attachments } }
  })
}

/** The project a key names, with its token checked where the key carries one. */
async function projectFor (j: Job, match: KeyMatch): Promise<Project | null> {
  const db = j.ctx.pool
  if (match.handler === 'service_desk_verification') return await getProject(db, Number(match.projectRef))
  if (!('form' in match)) return null
  switch (match.form) {
    case 'project_id': {
      const p = await projectByIdAndSlug(db, match.projectId, match.projectSlug)
      return p !== null && (!('token' in match) || match.token === p.incomingEmailToken) ? p : null
    }
    case 'legacy': {
      if (!('projectPath' in match)) return null
      const p = await projectByPath(db, match.projectPath)
      return p !== null && (!('token' in match) || match.token === p.incomingEmailToken) ? p : null
    }
    case 'service_desk_key': return await projectByServiceDeskKey(db, match.projectSlug, match.serviceDeskKey)
    case 'custom_address': return await getProject(db, Number(match.projectRef))
    default: return null
  }
}

async function serviceDesk (j: Job, project: Project | null): Promise<Outcome> {
  if (project === null) return rejected('project_not_found', 'the Service Desk key names no project')
  if (!project.serviceDesk) return rejected('service_desk_disabled', `Service Desk is off for ${project.path}`)
  const threadIds = [j.parsed.inReplyTo, ...j.parsed.references].filter((x): x is string => x !== null)
  const thread = await serviceDeskThread(j.ctx.pool, project.id, threadIds)
  return thread !== null ? await addNote(j, thread, 'service_desk') : await addIssue(j, project, true)
}

async function handle (j: Job, match: KeyMatch): Promise<Outcome> {
  switch (match.handler) {
    case 'create_note':
    case 'unsubscribe': {
      const issue = await issueByReplyKey(j.ctx.pool, match.replyKey.value)
      if (issue === null) return rejected('issue_not_found', 'no issue or note has this reply key')
      if (match.handler === 'create_note') return await addNote(j, issue, 'create_note')
      const added = await unsubscribe(j.ctx.pool, issue.issueId, author(j.parsed), j.email.id)
      return { status: 'delivered', handler: 'unsubscribe', result: { issueId: issue.issueId, address: author(j.parsed).toLowerCase(), created: added } }
    }
    case 'create_issue': {
      const project = await projectFor(j, match)
      return project === null ? rejected('project_not_found', 'no project with this id, slug and token') : await addIssue(j, project, false)
    }
    case 'create_note_on_issuable': {
      const project = await projectFor(j, match)
      if (project === null) return rejected('project_not_found', 'no project with this id, slug and token')
      const issue = await issueByIid(j.ctx.pool, project.id, match.iid)
      return issue === null ? rejected('issue_not_found', `no issue #${match.iid}`) : await addNote(j, issue, 'create_note', true)
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

export async function handleBuiltin (
  ctx: Pick<AppContext, 'pool'>, email: StoredEmail, parsed: ParsedEmail, mailbox: Mailbox
): Promise<Outcome> {
  const j: Job = { ctx, email, parsed, mailbox }
  const routing = routeFor(parsed, mailbox, {
    customServiceDeskAddresses: await email.memo.once('customServiceDeskAddresses', async () => await customServiceDeskAddresses(ctx.pool))
  })
  if (routing.outcome === 'handle') return await handle(j, routing.match)
  // a mailbox bound to one project's Service Desk takes mail without a key
  if (routing.reason === 'no_key' && mailbox.spec.serviceDeskProjectId !== undefined) {
    return await serviceDesk(j, await getProject(ctx.pool, mailbox.spec.serviceDeskProjectId))
  }
  return rejected(routing.reason, routing.detail)
}
