/** What each input reader hands the mapping: mailboxes in GitLab's own option names (gitlab.yml's). */

export type MailboxType = 'incoming_email' | 'service_desk_email'

export type InputKind = 'mail_room YAML' | 'gitlab.yml' | 'gitlab.rb'

/**
 * One mailbox's options under gitlab.yml's names (`user`, `mailbox`,
 * `secret_file`, …) plus mail_room's own (`search_command`, `jwt_*`,
 * `arbitration_*`, `content_type`), with the input's defaults filled in.
 */
export type Options = Record<string, unknown>

export interface SourceMailbox {
  /** mailslot mailbox name: the GitLab section, or one made from the input. */
  name: string
  type?: MailboxType
  options: Options
  /** The options the input itself set (the rest are the input's defaults). */
  given: string[]
  /** GitLab's default secret file for this input, used (and reported) when `secret_file` is not set. */
  assumedSecretFile?: string
  /** The option as the admin's file spells it, for the report. */
  label: (option: string) => string
}

export interface Source {
  kind: InputKind
  mailboxes: SourceMailbox[]
  /** Lines about the input itself (unparsable lines, disabled sections). */
  notes: string[]
}

/** The input is not one of the three kinds, or cannot be read: exit 2 with this one line. */
export class ImportInputError extends Error { override name = 'ImportInputError' }

export const MAILBOX_TYPES: readonly MailboxType[] = ['incoming_email', 'service_desk_email']
