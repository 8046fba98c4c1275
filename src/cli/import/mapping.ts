/**
 * mail_room options (in gitlab.yml's names, types.ts) → mailslot mailbox
 * JSON, with a report line for every option that maps differently or not at
 * all. Passwords and client secrets become `{ env: … }` references, never
 * values.
 */
import { MAILROOM_HEADER, MAILROOM_ISSUER } from '../../handlers/gitlab/jwt.ts'
import { CLOUDS } from '../../providers/graph/endpoints.ts'
import type { InputKind, Source, SourceMailbox } from './types.ts'

export type Level = 'info' | 'warning' | 'error'
export interface ReportLine { level: Level, mailbox?: string, text: string }

export interface ImportedMailbox {
  spec: Record<string, unknown>
  /** Comment lines written above the mailbox in the output. */
  comments: string[]
  /** Environment variables the admin must set (secret references). */
  env: string[]
}

export interface Imported { mailboxes: ImportedMailbox[], report: ReportLine[] }

const SIDEKIQ_LIKE = ['sidekiq', 'que']
const GITLAB_API = ['webhook', 'postback']
const GRAPH_OPTIONS = ['tenant_id', 'client_id', 'client_secret', 'azure_ad_endpoint', 'graph_endpoint', 'poll_interval']
/** Options the mapping reads; any other is reported as unknown. */
const KNOWN = new Set([
  'enabled', 'address', 'user', 'password', 'host', 'port', 'ssl', 'start_tls', 'mailbox', 'idle_timeout', 'log_path',
  'delete_after_delivery', 'expunge_deleted', 'delivery_method', 'delivery_options', 'secret_file', 'gitlab_url', 'inbox_method',
  'inbox_options', 'encrypted_secret_file', 'search_command', 'jwt_auth_header', 'jwt_issuer', 'jwt_algorithm', 'content_type',
  'arbitration_method', 'arbitration_options', 'auth_token', 'delivery_url'
])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== ''

/** MAILSLOT_<MAILBOX NAME>_<WHAT>, e.g. MAILSLOT_INCOMING_EMAIL_PASSWORD. */
export const envName = (mailbox: string, what: string): string =>
  `MAILSLOT_${mailbox.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${what}`

class Mapper {
  readonly lines: ReportLine[] = []
  readonly comments: string[] = []
  readonly env: string[] = []
  readonly m: SourceMailbox
  readonly kind: InputKind
  constructor (m: SourceMailbox, kind: InputKind) { this.m = m; this.kind = kind }

  get o (): Record<string, unknown> { return this.m.options }
  given (option: string): boolean { return this.m.given.includes(option) && present(this.o[option]) }
  say (level: Level, option: string | undefined, text: string): void {
    this.lines.push({ level, mailbox: this.m.name, text: option === undefined ? text : `${this.m.label(option)}: ${text}` })
  }

  secretRef (what: string): { env: string } {
    const name = envName(this.m.name, what)
    this.env.push(name)
    return { env: name }
  }

  map (): Record<string, unknown> | undefined {
    const o = this.o
    if (o.enabled === false) { this.say('info', 'enabled', 'is false: not imported'); return undefined }
    // GitLab's enabled_configs: a section without an address does not run
    if (o.enabled === true && !present(o.address)) { this.say('info', 'address', 'is empty, so GitLab does not run this mailbox: not imported'); return undefined }
    for (const option of Object.keys(o)) if (!KNOWN.has(option) && present(o[option])) this.say('warning', option, 'is not a mail_room option the import knows: ignored')
    const method = String(o.inbox_method ?? 'imap')
    const spec: Record<string, unknown> = { name: this.m.name }
    if (method === 'imap') Object.assign(spec, this.imap())
    else if (method === 'microsoft_graph') Object.assign(spec, this.graph())
    else { this.say('error', 'inbox_method', `"${method}" is not imap or microsoft_graph`); return undefined }
    this.address(spec)
    spec.afterDelivery = this.afterDelivery(method)
    this.searchCommand(spec)
    const delivery = this.delivery()
    if (delivery !== undefined) spec.delivery = delivery
    this.unneeded()
    return this.lines.some(l => l.level === 'error') ? undefined : spec
  }

  imap (): Record<string, unknown> {
    const o = this.o
    if (!present(o.host)) this.say('error', 'host', 'is not set: mailslot needs the IMAP server')
    const tls = o.ssl === true ? 'implicit' : o.start_tls === true ? 'starttls' : 'none'
    if (tls === 'none') this.say('warning', 'ssl', 'and start_tls are off: mailslot connects without TLS (imap.tls: none), as mail_room did')
    const imap: Record<string, unknown> = { host: String(o.host), port: Number(o.port), tls }
    const user = this.user('IMAP')
    if (user !== undefined) imap.user = user
    imap.password = this.secretRef('PASSWORD')
    this.say('info', 'password', `written as a reference: set ${envName(this.m.name, 'PASSWORD')} to the password (or use { file: /path })`)
    if (present(o.mailbox)) imap.folder = String(o.mailbox)
    if (this.given('idle_timeout')) {
      this.say('info', 'idle_timeout', 'mailslot has no IMAP IDLE yet: it polls every pollIntervalSeconds (MAILSLOT_POLL_INTERVAL, default 60)')
    }
    return { provider: 'imap', imap }
  }

  /**
   * The login user. GitLab reads it, with the password, from its encrypted credentials when encrypted_secret_file is
   * set, or from their default file when gitlab.yml or gitlab.rb has no user (a rendered mail_room.yml holds the result):
   * mailslot cannot read those, so the user becomes a reference the admin sets.
   */
  user (service: 'IMAP' | 'Microsoft Graph'): string | { env: string } | undefined {
    const o = this.o
    const option = present(o.encrypted_secret_file) ? 'encrypted_secret_file' : !present(o.user) && this.kind !== 'mail_room YAML' ? 'user' : undefined
    if (option === undefined) {
      if (present(o.user)) return String(o.user)
      this.say('error', 'user', `is not set: mailslot needs the ${service} user`)
      return undefined
    }
    const user = present(o.user) ? String(o.user) : this.secretRef('USER')
    const toSet = [...(typeof user === 'string' ? [] : ['USER']), ...(service === 'IMAP' ? ['PASSWORD'] : [])].map(w => envName(this.m.name, w))
    const where = option === 'user' ? 'is not set: GitLab then reads user and password from its encrypted credentials' : 'user and password come from GitLab\'s encrypted credentials'
    const show = `gitlab-rake gitlab:${this.m.type ?? 'incoming_email'}:secret:show`
    this.say('warning', option, `${where}, which mailslot cannot read${toSet.length === 0 ? '' : `: set ${toSet.join(' and ')} (\`${show}\` shows them)`}`)
    return user
  }

  graph (): Record<string, unknown> {
    const o = this.o
    const opts = isObject(o.inbox_options) ? o.inbox_options : {}
    for (const k of ['tenant_id', 'client_id']) if (!present(opts[k])) this.say('error', 'inbox_options', `has no ${k}: mailslot needs it for Microsoft Graph`)
    const user = this.user('Microsoft Graph')
    for (const k of Object.keys(opts)) if (!GRAPH_OPTIONS.includes(k)) this.say('warning', 'inbox_options', `${k} is not a Graph option the import knows: ignored`)
    const graph: Record<string, unknown> = {
      tenantId: String(opts.tenant_id), clientId: String(opts.client_id), clientSecret: this.secretRef('CLIENT_SECRET'), user
    }
    this.say('info', 'inbox_options', `client_secret written as a reference: set ${envName(this.m.name, 'CLIENT_SECRET')} (or use { file: /path })`)
    if (present(o.mailbox)) graph.folder = String(o.mailbox)
    Object.assign(graph, this.cloud(opts))
    const out: Record<string, unknown> = { provider: 'graph', graph, mode: 'poll' }
    this.say('info', 'inbox_method', 'microsoft_graph → provider graph, mode poll (as mail_room); Graph webhooks need MAILSLOT_PUBLIC_URL, then mode: webhook')
    if (present(opts.poll_interval)) out.pollIntervalSeconds = Math.max(5, Math.round(Number(opts.poll_interval)))
    return out
  }

  /** azure_ad_endpoint / graph_endpoint → a national `cloud` when they are one's, else authorityHost / baseUrl. */
  cloud (opts: Record<string, unknown>): Record<string, unknown> {
    const trim = (v: unknown): string | undefined => present(v) ? String(v).replace(/\/+$/, '') : undefined
    const login = trim(opts.azure_ad_endpoint)
    const api = trim(opts.graph_endpoint)?.replace(/\/v1\.0$/, '')
    if (login === undefined && api === undefined) return {}
    const cloud = Object.entries(CLOUDS).find(([, c]) => (login ?? c.login) === c.login && (api ?? c.graph) === c.graph)?.[0]
    if (cloud !== undefined) return cloud === 'global' ? {} : { cloud }
    return { ...(login !== undefined ? { authorityHost: login } : {}), ...(api !== undefined ? { baseUrl: api } : {}) }
  }

  address (spec: Record<string, unknown>): void {
    const a = this.o.address
    if (typeof a === 'string' && /^[^@\s]*%\{key\}[^@\s]*@[^@\s]+$/.test(a)) { spec.address = a; return }
    if (present(a)) this.say('warning', 'address', 'has no %{key} in its local part: left out (GitLab routes the mail; mailslot needs no address for it)')
  }

  afterDelivery (method: string): string {
    const o = this.o
    const expunge = o.expunge_deleted === true
    if (o.delete_after_delivery !== true) {
      if (expunge) {
        this.say('warning', 'expunge_deleted', 'without delete_after_delivery mail_room expunged what other clients had flagged \\Deleted; ' +
          'mailslot never expunges messages it did not delete: not mapped')
      }
      return 'seen'
    }
    if (method === 'microsoft_graph') {
      this.say('info', 'delete_after_delivery', 'afterDelivery: delete (Graph DELETE, as mail_room)')
      if (expunge) this.say('info', 'expunge_deleted', 'has no meaning for Microsoft Graph: ignored, as mail_room does')
      return 'delete'
    }
    if (expunge) {
      this.say('info', 'expunge_deleted', 'with delete_after_delivery → afterDelivery: delete: mailslot flags each delivered message \\Deleted ' +
        'and expunges it at once (UID EXPUNGE of just those messages; a plain EXPUNGE, as mail_room\'s, on servers without UIDPLUS)')
    } else {
      this.say('warning', 'expunge_deleted', 'is false, but mailslot\'s afterDelivery: delete also expunges: delivered messages are removed ' +
        'at once instead of staying flagged \\Deleted until the server or another client expunges')
    }
    return 'delete'
  }

  /** mail_room's UNSEEN is mailslot's default; NEW maps to imap.search: new; anything else is not mapped. */
  searchCommand (spec: Record<string, unknown>): void {
    const cmd = this.o.search_command
    if (!present(cmd)) return
    const upper = String(cmd).toUpperCase()
    const imap = spec.imap as Record<string, unknown> | undefined
    if (upper === 'NEW' && imap !== undefined) {
      imap.search = 'new'
      this.say('info', 'search_command', 'NEW → imap.search: new (unseen and recent, as mail_room)')
    } else if (upper === 'UNSEEN') {
      this.say('info', 'search_command', 'UNSEEN: mailslot takes only unseen mail by default (imap.search: unseen)')
    } else {
      this.comments.push(`mail_room search_command ${String(cmd)}: not mapped; mailslot takes only unseen mail (imap.search: unseen)`)
      this.say('warning', 'search_command', `${String(cmd)}: not mapped; mailslot takes only unseen mail (imap.search: unseen)`)
    }
  }

  delivery (): Record<string, unknown> | undefined {
    const o = this.o
    const method = String(o.delivery_method ?? '')
    const type = this.m.type
    if (![...GITLAB_API, ...SIDEKIQ_LIKE].includes(method)) {
      this.say('error', 'delivery_method', `"${method}" does not deliver to GitLab: mailslot imports only GitLab's mailboxes (webhook/postback, sidekiq, que)`)
      return undefined
    }
    if (type === undefined) {
      const where = method === 'postback' ? 'delivery_url is not GitLab\'s /api/v4/internal/mail_room/<incoming_email|service_desk_email>' : 'the worker is not GitLab\'s'
      this.say('error', method === 'postback' ? 'delivery_url' : 'delivery_options', `${where}: cannot tell which GitLab mailbox this is`)
      return undefined
    }
    if (!present(o.gitlab_url)) {
      this.say('error', 'gitlab_url', method === 'postback' || GITLAB_API.includes(method)
        ? 'no GitLab URL found (external_url, gitlab.host or gitlab_url)'
        : 'no GitLab URL: mail_room\'s file does not say where GitLab is for sidekiq; import gitlab.yml or gitlab.rb instead')
      return undefined
    }
    const url = String(o.gitlab_url).replace(/\/+$/, '')
    if (!/^https?:\/\/[^\s]+$/.test(url)) { this.say('error', 'gitlab_url', `"${url}" is not an http(s) URL`); return undefined }
    const secretFile = this.secretFile(method)
    if (secretFile === undefined) return undefined
    if (SIDEKIQ_LIKE.includes(method)) {
      const section = this.m.type ?? 'incoming_email'
      this.say('warning', 'delivery_method', `${method}: mailslot does not queue jobs in GitLab's Redis; it delivers through GitLab's internal API ` +
        `(${url}/api/v4/internal/mail_room/${type}) instead. Set ${this.webhookSetting(section)} so GitLab accepts it, and make sure ${secretFile} exists ` +
        'with the same content for GitLab and mailslot (GitLab creates it on start when missing)')
      if (present(o.delivery_options)) this.say('info', 'delivery_options', 'Redis/Sidekiq settings: not needed')
    } else {
      this.say('info', 'delivery_method', `${method} → delivery gitlab to ${url}/api/v4/internal/mail_room/${type}, header ${MAILROOM_HEADER}, issuer ${MAILROOM_ISSUER}, HS256, secret file ${secretFile}`)
      this.jwt()
    }
    return { kind: 'gitlab', url, mailboxType: type, secretFile }
  }

  webhookSetting (section: string): string {
    return this.kind === 'gitlab.rb'
      ? `gitlab_rails['${section}_delivery_method'] = "webhook" in gitlab.rb (then gitlab-ctl reconfigure)`
      : `${section}.delivery_method: webhook in gitlab.yml (gitlab_rails['${section}_delivery_method'] = "webhook" on Omnibus)`
  }

  secretFile (method: string): string | undefined {
    if (present(this.o.secret_file)) return String(this.o.secret_file)
    if (this.m.assumedSecretFile === undefined) {
      this.say('error', method === 'postback' ? 'secret_file' : 'delivery_method', 'no JWT secret file (jwt_secret_path): mailslot signs GitLab\'s JWT with it')
      return undefined
    }
    this.say('warning', 'secret_file', `is not set: GitLab's default ${this.m.assumedSecretFile} assumed; check it and that mailslot can read it`)
    return this.m.assumedSecretFile
  }

  jwt (): void {
    const o = this.o
    const alg = o.jwt_algorithm
    if (present(alg) && String(alg) !== 'HS256') this.say('error', 'jwt_algorithm', `${String(alg)}: GitLab's internal API and mailslot use HS256 only`)
    if (present(o.jwt_auth_header) && o.jwt_auth_header !== MAILROOM_HEADER) {
      this.say('warning', 'jwt_auth_header', `${String(o.jwt_auth_header)}: mailslot sends ${MAILROOM_HEADER}, the header GitLab reads`)
    }
    if (present(o.jwt_issuer) && o.jwt_issuer !== MAILROOM_ISSUER) {
      this.say('warning', 'jwt_issuer', `${String(o.jwt_issuer)}: mailslot signs with issuer ${MAILROOM_ISSUER}, the one GitLab checks`)
    }
    if (present(o.content_type) && o.content_type !== 'text/plain') {
      this.say('warning', 'content_type', `${String(o.content_type)}: mailslot always posts text/plain, as GitLab expects`)
    }
  }

  unneeded (): void {
    if (this.given('arbitration_method') || this.given('arbitration_options')) {
      this.say('info', this.given('arbitration_method') ? 'arbitration_method' : 'arbitration_options',
        'not needed: PostgreSQL coordinates which mailslot process takes each message (no Redis)')
    }
    if (this.given('log_path')) this.say('info', 'log_path', 'mailslot logs JSON lines to stdout: collect them there')
    if (this.given('auth_token')) this.say('info', 'auth_token', 'not used: mailslot authenticates to GitLab with the JWT from the secret file')
  }
}

export function mapSource (source: Source): Imported {
  const report: ReportLine[] = source.notes.map(text => ({ level: 'warning', text }))
  const mailboxes: ImportedMailbox[] = []
  for (const m of source.mailboxes) {
    const mapper = new Mapper(m, source.kind)
    const spec = mapper.map()
    report.push(...mapper.lines)
    if (spec !== undefined) mailboxes.push({ spec, comments: mapper.comments, env: mapper.env })
  }
  if (mailboxes.length === 0 && !report.some(l => l.level === 'error')) {
    report.push({ level: 'error', text: 'no enabled mailbox to import' })
  }
  return { mailboxes, report }
}
