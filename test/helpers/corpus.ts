// Loads GitLab's fixture emails from the repo copy, the way GitLab's spec
// helpers do: placeholders are substituted before the mail is parsed.
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseEmail, isParseRejection } from '../../src/parsing/index.ts'
import type { ParsedEmail } from '../../src/parsing/index.ts'

export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/gitlab-emails/', import.meta.url))

// The addresses the GitLab specs configure (MANIFEST.md, "Addresses the specs configure").
export const WILDCARDS = {
  /** CNH and UH */
  reply: 'reply+%{key}@appmail.adventuretime.ooo',
  /** CIH, CMR, NOI and SDH */
  incoming: 'incoming+%{key}@appmail.adventuretime.ooo',
  /** RS */
  receiverSpec: 'incoming+%{key}@appmail.example.com',
  /** Service Desk alias (SDR, parts of SDH) */
  serviceDeskAlias: 'support+%{key}@example.com'
} as const

/** The GitLab host the specs use, for `reply-<key>@<host>` References ids. */
export const GITLAB_HOST = 'localhost'

export const PROJECT_ID = 42
export const ISSUE_IID = 7
export const PROJECT_SLUG = 'email-test'
export const PROJECT_KEY = 'mykey'
export const REPLY_KEY = '59d8df8370b7e95c5a49fbf86aeb2c93'

export function corpusFiles (): string[] {
  return readdirSync(CORPUS_DIR).filter(f => f.endsWith('.eml')).sort()
}

export interface LoadOptions {
  /** Extra literal replacements, applied after the placeholders (e.g. NOI's address rewrite). */
  rewrite?: Array<[string, string]>
}

/** Raw bytes with the spec placeholders replaced; latin1 keeps every other byte as it was. */
export function loadRaw (file: string, opts: LoadOptions = {}): Buffer {
  let s = readFileSync(CORPUS_DIR + file).toString('latin1')
    .replaceAll('project_slug', PROJECT_SLUG)
    .replaceAll('project_key', PROJECT_KEY)
    .replaceAll('project_id', String(PROJECT_ID))
    .replaceAll('issue_iid', String(ISSUE_IID))
  for (const [from, to] of opts.rewrite ?? []) s = s.replaceAll(from, to)
  return Buffer.from(s, 'latin1')
}

export async function loadParsed (file: string, opts: LoadOptions = {}): Promise<ParsedEmail> {
  const parsed = await parseEmail(loadRaw(file, opts))
  if (isParseRejection(parsed)) throw new Error(`${file} was rejected: ${parsed.rejected}`)
  return parsed
}

/** NOI's rewrite of the reply address into a note-on-issuable address. */
export const NOTE_ON_ISSUABLE_REWRITE: [string, string] = [
  `reply+${REPLY_KEY}@`,
  `incoming+gitlabhq-gitlabhq-${PROJECT_ID}-auth_token-issue-${ISSUE_IID}@`
]

/** UH's rewrite of the reply key into an unsubscribe key. */
export const UNSUBSCRIBE_REWRITE: [string, string] = [`reply+${REPLY_KEY}@`, `reply+${REPLY_KEY}-unsubscribe@`]
