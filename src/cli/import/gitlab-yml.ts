/**
 * A source install's `gitlab.yml`: the Rails environment's (`production`)
 * `incoming_email` and `service_desk_email` sections, anchors and `<<` merge
 * keys resolved, GitLab's DEFAULT_CONFIG filled in.
 */
import { ImportInputError, MAILBOX_TYPES, type Options, type Source } from './types.ts'

const DEFAULTS: Options = {
  enabled: false, port: 143, ssl: false, start_tls: false, mailbox: 'inbox', idle_timeout: 60,
  log_path: 'log/mail_room_json.log', delete_after_delivery: true, expunge_deleted: false, delivery_method: 'sidekiq', inbox_method: 'imap'
}

/** A source install's Rails root, where GitLab's default secret files live. */
export const SOURCE_RAILS_ROOT = '/home/git/gitlab'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The part of a parsed YAML document that holds the sections: `production`, or the top level of a fragment. */
export function gitlabYmlRoot (doc: unknown): Record<string, unknown> | undefined {
  if (!isObject(doc)) return undefined
  const hasSections = (o: Record<string, unknown>): boolean => MAILBOX_TYPES.some(t => isObject(o[t])) || isObject(o.gitlab)
  if (isObject(doc.production) && hasSections(doc.production)) return doc.production
  return hasSections(doc) ? doc : undefined
}

/** Gitlab.config.gitlab.url: http(s)://host[:port]/relative_url_root. */
function gitlabUrl (gitlab: unknown): string | undefined {
  if (!isObject(gitlab) || typeof gitlab.host !== 'string') return undefined
  const https = gitlab.https === true
  const port = gitlab.port === undefined || gitlab.port === null ? (https ? 443 : 80) : Number(gitlab.port)
  const defaultPort = https ? 443 : 80
  const root = typeof gitlab.relative_url_root === 'string' ? gitlab.relative_url_root.replace(/\/+$/, '') : ''
  return `${https ? 'https' : 'http'}://${gitlab.host}${port === defaultPort ? '' : `:${port}`}${root}`
}

export function readGitlabYml (root: Record<string, unknown>): Source {
  const notes: string[] = []
  const url = gitlabUrl(root.gitlab)
  const mailboxes = MAILBOX_TYPES.filter(t => isObject(root[t])).map(type => ({
    name: type,
    type,
    options: { ...DEFAULTS, ...(url !== undefined ? { gitlab_url: url } : {}), ...(root[type] as Options) },
    given: [...Object.keys(root[type] as Options), ...(url !== undefined ? ['gitlab_url'] : [])],
    assumedSecretFile: `${SOURCE_RAILS_ROOT}/.gitlab_${type}_secret`,
    label: (option: string) => option === 'gitlab_url' && (root[type] as Options).gitlab_url === undefined
      ? 'gitlab.host/port/https'
      : `${type}.${option}`
  }))
  if (mailboxes.length === 0) throw new ImportInputError('gitlab.yml has no incoming_email or service_desk_email section')
  return { kind: 'gitlab.yml', mailboxes, notes }
}
