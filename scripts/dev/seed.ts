/**
 * What the dev environment declares in mailslot: a configuration file
 * (MAILSLOT_CONFIG, applied at every start) with a built-in project with
 * Service Desk on, an IMAP mailbox on the dev Dovecot and a Graph mailbox on
 * the fake, both delivering to the built-in store. The services' ports and
 * credentials change from run to run; the file is rewritten each time, and
 * applying it updates the mailboxes in place: issues and token stay.
 */
import { writeFile } from 'node:fs/promises'
import { stringify } from 'yaml'
import type { MailboxSpec } from '../../src/mailboxes/types.ts'
import type { NewProject } from '../../src/handlers/builtin/projects.ts'
import { GRAPH_USER, IMAP_USER, type Services } from './services.ts'

export const PROJECT_PATH = 'dev/demo'
export const ADDRESS = 'incoming+%{key}@dev.mailslot.test'
export const IMAP_MAILBOX = 'dev-imap'
export const GRAPH_MAILBOX = 'dev-graph'

export function devMailboxes (s: Services): MailboxSpec[] {
  const common = { address: ADDRESS, delivery: { kind: 'builtin' } } as const
  return [
    {
      name: IMAP_MAILBOX,
      provider: 'imap',
      imap: { host: s.dovecot.host, port: s.dovecot.port, tls: 'none', user: IMAP_USER, password: s.imapPassword, folder: 'INBOX' },
      ...common
    },
    {
      name: GRAPH_MAILBOX,
      provider: 'graph',
      mode: 'poll',
      graph: {
        tenantId: s.graph.tenantId, clientId: s.graph.clientId, clientSecret: s.graph.clientSecret, user: GRAPH_USER, folder: 'Inbox',
        authorityHost: s.graph.url, baseUrl: s.graph.url
      },
      ...common
    }
  ]
}

export async function writeDevConfig (file: string, s: Services): Promise<void> {
  const projects: NewProject[] = [{ path: PROJECT_PATH, serviceDesk: true }]
  const doc = { mailboxes: devMailboxes(s), projects }
  await writeFile(file, '# written by `npm run dev` at every start (scripts/dev/seed.ts)\n' + stringify(doc), { mode: 0o600 })
}
