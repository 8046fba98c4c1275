/**
 * Omnibus `gitlab.rb`: the `gitlab_rails['incoming_email_*']` and
 * `gitlab_rails['service_desk_email_*']` assignments and `external_url`,
 * read as literals (ruby-literal.ts); every other line is ignored, and an
 * assignment we need whose value is not a literal is reported by line.
 */
import { LiteralError, readRubyLiteral, type RubyValue } from './ruby-literal.ts'
import { ImportInputError, MAILBOX_TYPES, type MailboxType, type Options, type Source, type SourceMailbox } from './types.ts'

/** omnibus-gitlab attribute suffix → gitlab.yml option name. */
const OMNIBUS_NAMES: Record<string, string> = {
  enabled: 'enabled', address: 'address', host: 'host', port: 'port', ssl: 'ssl', start_tls: 'start_tls',
  email: 'user', password: 'password', mailbox_name: 'mailbox', idle_timeout: 'idle_timeout', log_file: 'log_path',
  delete_after_delivery: 'delete_after_delivery', expunge_deleted: 'expunge_deleted', inbox_method: 'inbox_method',
  inbox_options: 'inbox_options', inbox_inbox_options: 'inbox_options', delivery_method: 'delivery_method',
  auth_token: 'auth_token', secret_file: 'secret_file', gitlab_url: 'gitlab_url', encrypted_secret_file: 'encrypted_secret_file'
}

/** Omnibus defaults (its attributes/default.rb and GitLab's DEFAULT_CONFIG). */
const DEFAULTS: Options = {
  enabled: false, port: 143, ssl: false, start_tls: false, mailbox: 'inbox', idle_timeout: 60,
  delete_after_delivery: true, expunge_deleted: false, delivery_method: 'webhook', inbox_method: 'imap'
}

/** Omnibus's Rails root: GitLab's default secret files live there. */
export const OMNIBUS_RAILS_ROOT = '/opt/gitlab/embedded/service/gitlab-rails'

export const looksLikeGitlabRb = (text: string): boolean => /^\s*(?:gitlab_rails\s*\[|external_url[\s(])/m.test(text)

const ASSIGNMENT = /^[ \t]*gitlab_rails\s*\[\s*(['"])((?:incoming_email|service_desk_email)_\w+)\1\s*\]\s*=(?!=)/gm
const EXTERNAL_URL = /^[ \t]*external_url[ \t]*\(?/gm

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length

/** The literal after a match, and that the rest of its last line is only a comment. */
function literalAt (text: string, start: number): RubyValue {
  const { value, end } = readRubyLiteral(text, start)
  const tail = text.slice(end).split('\n')[0]
  if (!/^\s*\)?\s*(?:#.*)?$/.test(tail)) throw new LiteralError(`unexpected "${tail.trim().slice(0, 30)}" after the value`)
  return value
}

export function readGitlabRb (text: string): Source {
  const notes: string[] = []
  const found: Record<MailboxType, Options> = { incoming_email: {}, service_desk_email: {} }
  const spelled: Record<MailboxType, Record<string, string>> = { incoming_email: {}, service_desk_email: {} }
  let externalUrl: string | undefined

  for (const m of text.matchAll(EXTERNAL_URL)) {
    try {
      const v = literalAt(text, m.index + m[0].length)
      if (typeof v === 'string') externalUrl = v
      else notes.push(`gitlab.rb line ${lineOf(text, m.index)}: external_url is not a string: ignored`)
    } catch (err) {
      notes.push(`gitlab.rb line ${lineOf(text, m.index)}: external_url could not be read (${(err as Error).message}): ignored`)
    }
  }

  for (const m of text.matchAll(ASSIGNMENT)) {
    const attribute = m[2]
    const type = MAILBOX_TYPES.find(t => attribute.startsWith(t + '_')) as MailboxType
    const suffix = attribute.slice(type.length + 1)
    const option = OMNIBUS_NAMES[suffix]
    const line = lineOf(text, m.index)
    if (option === undefined) {
      notes.push(`gitlab.rb line ${line}: gitlab_rails['${attribute}'] is not a mail_room setting the import knows: ignored`)
      continue
    }
    try {
      found[type][option] = literalAt(text, m.index + m[0].length)
      spelled[type][option] = attribute
    } catch (err) {
      if (!(err instanceof LiteralError)) throw err
      // the parser's "near …" excerpt could quote part of a secret
      const detail = /password|secret|token|options/.test(attribute) ? '' : ` (${err.message})`
      notes.push(`gitlab.rb line ${line}: gitlab_rails['${attribute}'] is not a plain value${detail}: not imported, set it by hand`)
    }
  }

  const seen = MAILBOX_TYPES.filter(t => Object.keys(found[t]).length > 0)
  if (seen.length === 0) throw new ImportInputError('gitlab.rb has no gitlab_rails[\'incoming_email_*\'] or gitlab_rails[\'service_desk_email_*\'] settings')
  const mailboxes: SourceMailbox[] = seen.map(type => ({
    name: type,
    type,
    options: {
      ...DEFAULTS,
      ...(externalUrl !== undefined ? { gitlab_url: externalUrl } : {}),
      ...found[type]
    },
    given: [...Object.keys(found[type]), ...(externalUrl !== undefined ? ['gitlab_url'] : [])],
    assumedSecretFile: `${OMNIBUS_RAILS_ROOT}/.gitlab_${type}_secret`,
    label: (option: string) => {
      const suffix = spelled[type][option]?.slice(type.length + 1) ??
        Object.keys(OMNIBUS_NAMES).find(k => OMNIBUS_NAMES[k] === option) ?? option
      return option === 'gitlab_url' && spelled[type][option] === undefined ? 'external_url' : `gitlab_rails['${type}_${suffix}']`
    }
  }))
  return { kind: 'gitlab.rb', mailboxes, notes }
}
