/** What `npm run dev` prints once everything is up: where things are and three things to try. */
import path from 'node:path'
import type { DevState } from '../../src/cli/dev-state.ts'

/** The line tests and scripts wait for. */
export const READY_LINE = 'mailslot dev environment is ready'

export function banner (s: DevState, dir: string): string {
  const [imap, graph] = s.mailboxes
  const where = (m: DevState['mailboxes'][number]): string => m.provider === 'imap'
    ? `IMAP, private Dovecot on ${m.imap.host}:${m.imap.port} (user ${m.imap.user}, password ${m.imap.password})`
    : `Microsoft Graph, polled, HTTPS fake at ${m.graph.url} (user ${m.graph.user})`
  const rel = path.relative(process.cwd(), dir)
  return `
${READY_LINE} (state in ${rel === '' || rel.startsWith('..') ? dir : rel}/, Ctrl-C stops everything)

  mailslot      ${s.url}   (embedded PostgreSQL, server, workers)
  admin         ${s.url}/admin
  admin token   ${s.adminToken}
  project       ${s.project.path} (id ${s.project.id}), Service Desk on
    issue address          ${s.project.issueAddress}
    Service Desk address   ${s.project.serviceDeskAddress}
  mailboxes     ${imap.name}: ${where(imap)}
                ${graph.name}: ${where(graph)}
                both with the address ${imap.address}, polled every minute
                (\`mailslot dev send\` asks for a poll at once)

Try:
  1. npx mailslot dev send --to ${s.project.issueAddress} --subject "The printer is on fire"
  2. curl -s -H "Authorization: Bearer ${s.adminToken}" ${s.url}/api/v1/projects/${s.project.id}/issues
  3. npx mailslot dev send --mailbox ${graph.name} --to ${s.project.serviceDeskAddress} --subject "Help, please"
     then open ${s.url}/admin (sign in with the token) or curl the issues again: a Service Desk issue

`
}
