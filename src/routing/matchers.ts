// Mail key → handler, in GitLab's order (gitlab-email_handler's Identifier):
// create_note, create_issue, create_note_on_issuable, unsubscribe,
// create_merge_request, service_desk. The first matcher that accepts the key
// wins, so the order is part of the contract: e.g. `<path>+unsubscribe`
// would otherwise be a legacy create-issue key.

const BASE36 = '[0-9a-z]'
const LEGACY_REPLY_KEY = '[a-f0-9]{32}'
// <base36 partition>-<25 base36 chars>[-<base36 namespace id>]
const PARTITIONED_REPLY_KEY = `(${BASE36}{1,4})-(${BASE36}{25})(?:-(${BASE36}{1,13}))?`
const REPLY_KEY = new RegExp(`^(?:(${LEGACY_REPLY_KEY})|${PARTITIONED_REPLY_KEY})$`)
// <project slug>-<project id>; the slug is greedy, as in GitLab.
const PROJECT = '(.+)-(\\d+)'

const CREATE_ISSUE = new RegExp(`^${PROJECT}-(.+)-issue$`)
const CREATE_ISSUE_LEGACY = /^([^+]*)\+(.*)$/
const NOTE_ON_ISSUABLE = new RegExp(`^${PROJECT}-(.+)-issue-(\\d+)$`)
const CREATE_MR = new RegExp(`^${PROJECT}-(.+)-merge-request$`)
const CREATE_MR_LEGACY = /^([^+]*)\+merge-request\+(.*)$/
const SERVICE_DESK = new RegExp(`^${PROJECT}-issue-$`)
const SERVICE_DESK_LEGACY = /^([^+]*)$/
// `<full path slug>-<project key>`; only the Service Desk alias address uses it.
const SERVICE_DESK_KEY = /^(.+)-([a-z0-9_]+)$/

// A mail key is the local part of an address: 64 octets by RFC 5321, a few
// hundred in practice. The patterns backtrack, so an absurd key from a
// hostile header is refused before they run.
const MAX_KEY_LENGTH = 1000

export type ReplyKey =
  | { format: 'legacy', value: string }
  | { format: 'partitioned', value: string, partition: string, token: string, namespaceId: string | null }

export type ProjectRef = { form: 'project_id', projectSlug: string, projectId: number }
export type LegacyProjectRef = { form: 'legacy', projectPath: string }

export type KeyMatch =
  | { handler: 'create_note', replyKey: ReplyKey }
  | ({ handler: 'create_issue', token: string } & (ProjectRef | LegacyProjectRef))
  | ({ handler: 'create_note_on_issuable', token: string, iid: number } & ProjectRef)
  | { handler: 'unsubscribe', form: 'new' | 'legacy', replyKey: ReplyKey }
  | ({ handler: 'create_merge_request', token: string } & (ProjectRef | LegacyProjectRef))
  | ({ handler: 'service_desk' } & (ProjectRef | LegacyProjectRef))
  // Needs a store lookup: the project whose Service Desk key is `serviceDeskKey`
  // and whose full-path slug is `projectSlug` (the slug settles shared keys).
  | { handler: 'service_desk', form: 'service_desk_key', slugAndKey: string, projectSlug: string, serviceDeskKey: string }
  // Produced by route() for a project's own custom Service Desk address.
  | { handler: 'service_desk', form: 'custom_address', customAddress: string, projectRef: string }
  | { handler: 'service_desk_verification', customAddress: string, projectRef: string }

export type HandlerName = KeyMatch['handler']

export function parseReplyKey (key: string): ReplyKey | null {
  if (key.length > MAX_KEY_LENGTH) return null
  const m = REPLY_KEY.exec(key)
  if (!m) return null
  if (m[1]) return { format: 'legacy', value: key }
  return { format: 'partitioned', value: key, partition: m[2], token: m[3], namespaceId: m[4] ?? null }
}

export function isReplyKey (key: string): boolean {
  return parseReplyKey(key) !== null
}

// GitLab reads the id with to_i; an id past 2^53 cannot be a real project and
// would silently lose digits here, so such a key matches nothing.
function projectRef (slug: string, id: string): ProjectRef | null {
  const projectId = Number(id)
  return Number.isSafeInteger(projectId) ? { form: 'project_id', projectSlug: slug, projectId } : null
}

type Matcher = (key: string) => KeyMatch | null

const createNote: Matcher = (key) => {
  const replyKey = parseReplyKey(key)
  return replyKey && { handler: 'create_note', replyKey }
}

const createIssue: Matcher = (key) => {
  const m = key.includes('/') ? null : CREATE_ISSUE.exec(key)
  const ref = m && projectRef(m[1], m[2])
  if (m && ref) return { handler: 'create_issue', token: m[3], ...ref }
  const legacy = CREATE_ISSUE_LEGACY.exec(key)
  // A `+` in the token means another handler's legacy form (merge-request, unsubscribe).
  if (!legacy || legacy[2].includes('+') || key.includes('+unsubscribe')) return null
  return { handler: 'create_issue', token: legacy[2], form: 'legacy', projectPath: legacy[1] }
}

const createNoteOnIssuable: Matcher = (key) => {
  const m = NOTE_ON_ISSUABLE.exec(key)
  const ref = m && projectRef(m[1], m[2])
  const iid = m ? Number(m[4]) : NaN
  return m && ref && Number.isSafeInteger(iid) ? { handler: 'create_note_on_issuable', token: m[3], iid, ...ref } : null
}

const unsubscribe: Matcher = (key) => {
  for (const [suffix, form] of [['-unsubscribe', 'new'], ['+unsubscribe', 'legacy']] as const) {
    const replyKey = key.endsWith(suffix) ? parseReplyKey(key.slice(0, -suffix.length)) : null
    if (replyKey) return { handler: 'unsubscribe', form, replyKey }
  }
  return null
}

const createMergeRequest: Matcher = (key) => {
  const m = key.includes('/') ? null : CREATE_MR.exec(key)
  const ref = m && projectRef(m[1], m[2])
  if (m && ref) return { handler: 'create_merge_request', token: m[3], ...ref }
  const legacy = CREATE_MR_LEGACY.exec(key)
  return legacy && { handler: 'create_merge_request', token: legacy[2], form: 'legacy', projectPath: legacy[1] }
}

const serviceDesk: Matcher = (key) => {
  const m = key.includes('/') ? null : SERVICE_DESK.exec(key)
  const ref = m && projectRef(m[1], m[2])
  if (ref) return { handler: 'service_desk', ...ref }
  const legacy = SERVICE_DESK_LEGACY.exec(key)
  // The legacy form is a bare project path: it needs a namespace separator.
  return legacy && key.includes('/') ? { handler: 'service_desk', form: 'legacy', projectPath: legacy[1] } : null
}

const MATCHERS: Matcher[] = [createNote, createIssue, createNoteOnIssuable, unsubscribe, createMergeRequest, serviceDesk]

/** Which handler a key from the incoming-email address selects, or null (GitLab: UnknownIncomingEmail). */
export function matchKey (key: string): KeyMatch | null {
  if (key.length > MAX_KEY_LENGTH) return null
  for (const matcher of MATCHERS) {
    const match = matcher(key)
    if (match) return match
  }
  return null
}

/**
 * A key from the Service Desk alias address (`service_desk_email`). GitLab
 * hands every such key to the Service Desk handler: the project-id and
 * legacy forms first, then `<slug>-<project key>`, which only the store can
 * resolve. Anything else cannot name a project (GitLab: ProjectNotFound).
 */
export function matchServiceDeskAliasKey (key: string): KeyMatch | null {
  if (key.length > MAX_KEY_LENGTH) return null
  const direct = serviceDesk(key)
  if (direct) return direct
  const m = SERVICE_DESK_KEY.exec(key)
  return m && { handler: 'service_desk', form: 'service_desk_key', slugAndKey: key, projectSlug: m[1], serviceDeskKey: m[2] }
}
