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
import type { DevMailbox } from '../../src/cli/dev-state.ts'
import { GRAPH_USER, IMAP_USER, type Services } from './services.ts'

export const PROJECT_PATH = 'dev/demo'
const ADDRESS = 'incoming+%{key}@dev.mailslot.test'
const IMAP_MAILBOX = 'dev-imap'
const GRAPH_MAILBOX = 'dev-graph'

function devMailboxes (s: Services): MailboxSpec[] {
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

/** The same mailboxes as `mailslot dev send` reaches them (the state file's part). */
export function sendTargets (s: Services): DevMailbox[] {
  return [
    { name: IMAP_MAILBOX, provider: 'imap', address: ADDRESS, imap: { host: s.dovecot.host, port: s.dovecot.port, user: IMAP_USER, password: s.imapPassword } },
    {
      name: GRAPH_MAILBOX, provider: 'graph', address: ADDRESS,
      graph: { url: s.graph.url, user: GRAPH_USER, inbox: `${s.graphInbox.url}/users/${GRAPH_USER}/inbox`, token: s.graphInbox.token }
    }
  ]
}

export async function writeDevConfig (file: string, s: Services): Promise<void> {
  const projects: NewProject[] = [{ path: PROJECT_PATH, serviceDesk: true }]
  const doc = { mailboxes: devMailboxes(s), projects }
  await writeFile(file, '# written by `npm run dev` at every start (scripts/dev/seed.ts)\n' + stringify(doc), { mode: 0o600 })
}
