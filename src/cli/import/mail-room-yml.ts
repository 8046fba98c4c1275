/**
 * mail_room's own YAML, as GitLab's config/mail_room.yml renders it: keys are
 * Ruby symbols (`:host:` parses as ":host"), one `:mailboxes:` entry per
 * mailbox, the GitLab endpoint and JWT settings under `:delivery_options:`.
 */
import { ImportInputError, type MailboxType, type Options, type Source, type SourceMailbox } from './types.ts'

/** mail_room's own defaults (MailRoom::Mailbox), for keys a hand-written file leaves out. */
const DEFAULTS: Options = {
  port: 993, ssl: true, start_tls: false, idle_timeout: 29 * 60, search_command: 'UNSEEN', delivery_method: 'postback',
  delete_after_delivery: false, expunge_deleted: false, mailbox: 'inbox', inbox_method: 'imap'
}

/** mail_room key → gitlab.yml option name, where they differ. */
const RENAMED: Record<string, string> = { email: 'user', name: 'mailbox' }
const FROM_DELIVERY_OPTIONS: Record<string, string> = { jwt_secret_path: 'secret_file' }
/** delivery_options the mapping reads itself; the rest stay in `delivery_options`. */
const KNOWN_DELIVERY_OPTIONS = ['delivery_url', 'content_type', 'jwt_auth_header', 'jwt_issuer', 'jwt_algorithm', 'jwt_secret_path']

const WORKERS: Record<string, MailboxType> = { EmailReceiverWorker: 'incoming_email', ServiceDeskEmailReceiverWorker: 'service_desk_email' }
const INTERNAL_API = /^(https?:\/\/.+?)\/api\/v4\/internal\/mail_room\/(incoming_email|service_desk_email)\/?$/

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Keys without their symbol colon, all the way down; symbol values (`:postback`) too. */
export function unsymbol (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unsymbol)
  if (typeof v === 'string') return v.replace(/^:(?=[A-Za-z_])/, '')
  if (!isObject(v)) return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/^:/, ''), unsymbol(x)]))
}

/** The mailbox list when this parsed document is mail_room's YAML. */
export function mailRoomMailboxes (doc: unknown): unknown[] | undefined {
  const plain = unsymbol(doc)
  if (!isObject(plain) || !Array.isArray(plain.mailboxes)) return undefined
  // mailslot's own config has `provider`; mail_room's has host/email
  const mailRoomish = plain.mailboxes.every(m =>
    isObject(m) && m.provider === undefined && (m.host !== undefined || m.email !== undefined || m.inbox_method !== undefined))
  return mailRoomish ? plain.mailboxes : undefined
}

function typeOf (m: Record<string, unknown>): MailboxType | undefined {
  const d = isObject(m.delivery_options) ? m.delivery_options : {}
  if (typeof d.delivery_url === 'string') return INTERNAL_API.exec(d.delivery_url)?.[2] as MailboxType | undefined
  return typeof d.worker === 'string' ? WORKERS[d.worker] : undefined
}

export function readMailRoomYml (entries: unknown[]): Source {
  if (entries.length === 0) throw new ImportInputError('mail_room YAML has an empty :mailboxes: list')
  const types = entries.map(m => isObject(m) ? typeOf(m) : undefined)
  const mailboxes: SourceMailbox[] = entries.map((entry, i) => {
    if (!isObject(entry)) throw new ImportInputError(`mail_room YAML :mailboxes: entry ${i + 1} is not a mapping`)
    const type = types[i]
    const unique = type !== undefined && types.filter(t => t === type).length === 1
    const options: Options = { ...DEFAULTS }
    const spelled: Record<string, string> = {}
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'logger' && isObject(v)) { options.log_path = v.log_path; spelled.log_path = ':logger: :log_path'; continue }
      if (k === 'delivery_options' && isObject(v)) continue
      const option = RENAMED[k] ?? k
      options[option] = v
      spelled[option] = `:${k}`
    }
    const d = isObject(entry.delivery_options) ? entry.delivery_options : {}
    const rest: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(d)) {
      const option = FROM_DELIVERY_OPTIONS[k] ?? k
      if (!KNOWN_DELIVERY_OPTIONS.includes(k)) { rest[k] = v; continue }
      options[option] = v
      spelled[option] = `:delivery_options: :${k}`
    }
    if (Object.keys(rest).length > 0) options.delivery_options = rest
    spelled.delivery_options = ':delivery_options:'
    const api = typeof d.delivery_url === 'string' ? INTERNAL_API.exec(d.delivery_url) : null
    if (api !== null) { options.gitlab_url = api[1]; spelled.gitlab_url = ':delivery_options: :delivery_url' }
    const name = unique ? type : `mail_room_${i + 1}`
    const given = Object.keys(spelled).filter(k => k !== 'delivery_options' || options.delivery_options !== undefined)
    // an option the file left out is named as mail_room spells it (`user` → `:email:`)
    const mailRoomKey = (option: string): string => Object.keys(RENAMED).find(k => RENAMED[k] === option) ?? option
    return { name, type, options, given, label: (option: string) => `mailbox ${i + 1} ${spelled[option] ?? `:${mailRoomKey(option)}`}` }
  })
  return { kind: 'mail_room YAML', mailboxes, notes: [] }
}
