/**
 * Side by side with mail_room: GitLab's own configuration — a source install's
 * gitlab.yml and an Omnibus gitlab.rb, each with incoming_email and
 * service_desk_email — imported by the real `mailslot import mail-room` and
 * run, untouched, by the real `mailslot start` (MAILSLOT_CONFIG, real
 * PostgreSQL) with only the variables the import asked for. The IMAP server is
 * a private Dovecot (IMAPS, STARTTLS and plain, as the files say); GitLab is a
 * stand-in for its internal API `POST /api/v4/internal/mail_room/:mailbox_type`
 * that checks the `Gitlab-Mailroom-Api-Request` JWT as GitLab does, with each
 * mailbox type's own secret file (Gitlab::MailRoom::Authenticator).
 *
 * What mail_room would have done must happen, and nothing more: every unread
 * message of the configured folder arrives exactly once, byte for byte, on its
 * own mailbox type; read messages and other folders are left as they were;
 * delivered messages are deleted and expunged (delete_after_delivery +
 * expunge_deleted) or marked \Seen — also after another poll.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { ROOT } from '../../setup/shared-db.ts'
import { runCli, startServer, type Server } from '../../helpers/cli.ts'
import { createTestDatabase } from '../../helpers/db.ts'
import { startDovecot } from '../../helpers/dovecot.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { startEndpoint, verifyLikeGitlab, type Endpoint, type Received } from '../../handlers/delivery-endpoint.ts'
import { envName } from '../../../src/cli/import/mapping.ts'
import type { MailboxType } from '../../../src/cli/import/types.ts'

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'mail-room', 'side-by-side')
const MESSAGE_ID = /^Message-ID: (<[^>]+>)/m
const API_PATH = /^\/gitlab\/api\/v4\/internal\/mail_room\/(incoming_email|service_desk_email)$/

/** One of GitLab's mailboxes as the fixture declares it, and what mail_room does after delivering from it. */
interface Box {
  type: MailboxType
  user: string
  password: string
  /** The folder the fixture names, as Dovecot spells it. */
  folder: string
  after: 'delete' | 'seen'
}

/** The messages put into a mailbox before mailslot starts. */
interface Seeded {
  /** uid → raw, in the configured folder. */
  unread: Map<number, Buffer>
  read: Map<number, Buffer>
  /** One unread message in another folder of the same account. */
  elsewhere: { folder: string, uid: number }
}

/** Generous: two mailslot processes start at once, on a machine other test files share. */
const WAIT_MS = 60_000
t.setTimeout(180_000)

const dovecot = await startDovecot({ ssl: true })
t.teardown(dovecot.stop)
// two installations at once: most of each case is waiting for processes to start
t.jobs = 2

/** The fixture with its __PLACEHOLDERS__ filled in. */
async function fill (fixture: string, values: Record<string, string | number>): Promise<string> {
  const text = await readFile(path.join(FIXTURES, fixture), 'utf8')
  return text.replace(/__([A-Z_]+)__/g, (_, key: string) => {
    if (values[key] === undefined) throw new Error(`${fixture}: no value for __${key}__`)
    return String(values[key])
  })
}

/** A message to this mailbox's address; its body ends in 8-bit bytes that are not UTF-8, so any re-encoding shows. */
function message (box: Box, label: string): Buffer {
  const domain = box.user.split('@')[1]
  const raw = makeEmail(0, {
    to: `${box.user.split('@')[0]}+${randomBytes(4).toString('hex')}@${domain}`,
    subject: `${box.type} ${label}`,
    messageId: `<${box.type}-${label}-${randomBytes(6).toString('hex')}@example.net>`,
    size: 2048
  })
  return Buffer.concat([raw, Buffer.from('Caf\xe9 \xa4 latin-1, not UTF-8\r\n', 'latin1')])
}

/** Read and unread messages interleaved in the configured folder, and one unread message in another folder; one IMAP session. */
async function seed (box: Box): Promise<Seeded> {
  dovecot.addUser(box.user, box.password)
  const seeded: Seeded = { unread: new Map(), read: new Map(), elsewhere: { folder: '', uid: 0 } }
  const folder = box.folder.toLowerCase() === 'inbox' ? 'Archive' : 'INBOX'
  const c = await dovecot.client(box.user)
  try {
    for (const name of [box.folder, folder]) await c.mailboxCreate(name).catch(() => {})
    for (const [i, state] of (['read', 'unread', 'read', 'unread', 'unread'] as const).entries()) {
      const raw = message(box, `${state}-${i}`)
      const appended = await c.append(box.folder, raw, state === 'read' ? ['\\Seen'] : [])
      if (appended === false || appended.uid === undefined) throw new Error(`${box.folder}: APPEND gave no UID`)
      seeded[state].set(appended.uid, raw)
    }
    const appended = await c.append(folder, message(box, 'elsewhere'))
    if (appended === false || appended.uid === undefined) throw new Error(`${folder}: APPEND gave no UID`)
    seeded.elsewhere = { folder, uid: appended.uid }
  } finally { await c.logout() }
  return seeded
}

/** GitLab's internal mail_room API, one secret per mailbox type, as GitLab checks it. */
async function startGitlab (t: Test, secrets: Record<MailboxType, Uint8Array>): Promise<Endpoint> {
  return await startEndpoint(t, async req => {
    const type = API_PATH.exec(req.path)?.[1] as MailboxType | undefined
    if (req.method !== 'POST' || type === undefined) throw new Error(`no route ${req.method} ${req.path}`)
    if (req.headers['content-type'] !== 'text/plain') throw new Error(`content type ${String(req.headers['content-type'])}`)
    await verifyLikeGitlab(req.headers['gitlab-mailroom-api-request'] as string | undefined, secrets[type])
  })
}

interface Api { get: (url: string) => Promise<any>, post: (url: string) => Promise<number> }

function apiOf (server: Server, token: string): Api {
  const call = async (method: string, url: string): Promise<Response> =>
    await fetch(server.address + url, { method, headers: { authorization: `Bearer ${token}` } })
  return {
    get: async url => await (await call('GET', url)).json(),
    post: async url => (await call('POST', url)).status
  }
}

/** Every email mailslot stored, once none is still on its way (received or processing). */
async function settledEmails (api: Api, expected: number): Promise<Array<{ mailbox: string, status: string, messageId: string }>> {
  return await waitFor(async () => {
    const { items } = await api.get('/api/v1/emails?limit=100')
    return items.length >= expected && items.every((e: { status: string }) => !['received', 'processing'].includes(e.status)) ? items : null
  }, `${expected} emails handled`, WAIT_MS)
}

/** Another poll of the mailbox, resolved once it has succeeded. */
async function pollAgain (api: Api, name: string): Promise<void> {
  const before = (await api.get(`/api/v1/mailboxes/${name}`)).health.lastSuccessAt
  if (await api.post(`/api/v1/mailboxes/${name}/poll`) !== 202) throw new Error(`${name}: poll not accepted`)
  await waitFor(async () => (await api.get(`/api/v1/mailboxes/${name}`)).health.lastSuccessAt !== before, `${name} polled again`, WAIT_MS)
}

const sorted = (ids: string[]): string[] => [...ids].sort()
const messageId = (raw: Buffer): string => MESSAGE_ID.exec(raw.toString('latin1'))![1]

/** The admin's first step: import, read the report, set the variables it names. Resolves to the file and those variables. */
async function importConfig (
  t: Test, input: string, boxes: Box[], expectedVars: string[]
): Promise<{ file: string, vars: Record<string, string> }> {
  const file = path.join(path.dirname(input), 'mailslot.yml')
  const imported = await runCli(['import', 'mail-room', input, '--out', file], {})
  t.equal(imported.code, 0, imported.code === 0 ? 'imported' : imported.stderr)
  t.notMatch(imported.stderr, /error:/, 'no error in the report')
  const text = await readFile(file, 'utf8')
  for (const box of boxes) t.notOk(text.includes(box.password), `${box.type}'s password is not in the file`)
  const asked = /before starting mailslot, set ([A-Z_, ]+) \(/.exec(imported.stderr)?.[1].split(', ') ?? []
  t.same(sorted(asked), sorted(expectedVars), 'the import names the variables to set')
  const known = Object.fromEntries(boxes.flatMap(b => [[envName(b.type, 'USER'), b.user], [envName(b.type, 'PASSWORD'), b.password]]))
  return { file, vars: Object.fromEntries(asked.map(name => [name, known[name]])) }
}

/** What GitLab received for this mailbox and what is left on the IMAP server. */
async function checkMailbox (t: Test, box: Box, mine: Seeded, received: Received[]): Promise<void> {
  const arrived = received.filter(r => API_PATH.exec(r.path)?.[1] === box.type)
  t.same(sorted(arrived.map(r => messageId(r.body))), sorted([...mine.unread.values()].map(messageId)),
    `${box.type}: each unread message exactly once, no read one`)
  const raws = new Map([...mine.unread.values()].map(raw => [messageId(raw), raw]))
  t.ok(arrived.every(r => raws.get(messageId(r.body))?.equals(r.body) === true), `${box.type}: the raw bytes as they were on the server`)

  const flags = Object.fromEntries([...(await dovecot.flags(box.user, box.folder)).entries()].map(([uid, f]) => [uid, sorted(f)]))
  const kept = Object.fromEntries([
    ...[...mine.read.keys()].map(uid => [uid, ['\\Seen']]),
    ...(box.after === 'seen' ? [...mine.unread.keys()].map(uid => [uid, ['\\Seen']]) : [])
  ])
  t.same(flags, kept, box.after === 'delete'
    ? `${box.type}: delivered messages deleted and expunged, read ones kept as they were`
    : `${box.type}: delivered messages marked \\Seen and kept, nothing deleted`)
  const other = await dovecot.flags(box.user, mine.elsewhere.folder)
  t.same(Object.fromEntries(other.entries()), { [mine.elsewhere.uid]: [] }, `${box.type}: the message in ${mine.elsewhere.folder} is left unread`)
}

async function sideBySide (t: Test, fixture: string, boxes: Box[], expectedVars: string[]): Promise<void> {
  const dir = t.testdir()
  const secrets = { incoming_email: randomBytes(32), service_desk_email: randomBytes(32) }
  for (const [type, secret] of Object.entries(secrets)) await writeFile(path.join(dir, `.gitlab_${type}_secret`), secret.toString('base64') + '\n')
  const gitlab = await startGitlab(t, secrets)
  const input = path.join(dir, fixture)
  await writeFile(input, await fill(fixture, {
    GITLAB_PORT: new URL(gitlab.url).port, IMAP_PORT: dovecot.port, IMAPS_PORT: dovecot.tlsPort!, DIR: dir
  }))
  const { file, vars } = await importConfig(t, input, boxes, expectedVars)
  const seeded = new Map((await Promise.all(boxes.map(seed))).map((s, i) => [boxes[i].type, s]))
  const caFile = path.join(dir, 'dovecot-ca.pem')
  await writeFile(caFile, dovecot.ca!)

  const token = randomBytes(18).toString('base64url')
  const server = await startServer({
    DATABASE_URL: await createTestDatabase(t),
    MAILSLOT_ADMIN_TOKEN: token,
    MAILSLOT_DATA_DIR: path.join(dir, 'data'),
    MAILSLOT_CONFIG: file,
    // the IMAP server's certificate is a private CA's, as many companies' are
    NODE_EXTRA_CA_CERTS: caFile,
    ...vars
  })
  t.teardown(async () => { await server.stop() })
  const api = apiOf(server, token)
  const unread = boxes.reduce((n, b) => n + seeded.get(b.type)!.unread.size, 0)

  await waitFor(async () => gitlab.received.length >= unread ? true : null, `${unread} deliveries to GitLab`, WAIT_MS)
  await settledEmails(api, unread)
  for (const box of boxes) await pollAgain(api, box.type)
  const emails = await settledEmails(api, unread)

  t.equal(emails.length, unread, 'another poll took nothing more')
  t.same(emails.filter(e => e.status !== 'delivered'), [], 'every email delivered')
  t.same(gitlab.received.filter(r => r.authError !== undefined).map(r => `${r.path}: ${r.authError!}`), [], 'GitLab accepted every request')
  t.equal(gitlab.received.length, unread, 'no delivery twice')
  for (const box of boxes) await checkMailbox(t, box, seeded.get(box.type)!, gitlab.received)
  t.same((await api.get('/api/v1/mailboxes')).items.map((m: { name: string }) => m.name).sort(), ['incoming_email', 'service_desk_email'],
    'one mailbox per GitLab section')
}

t.test('source install: gitlab.yml (IMAPS with delete + expunge; STARTTLS with seen in "Service Desk")', async t => {
  await sideBySide(t, 'gitlab.yml', [
    { type: 'incoming_email', user: 'gitlab-incoming@example.org', password: 'yml-incoming-imap-pw', folder: 'INBOX', after: 'delete' },
    { type: 'service_desk_email', user: 'project_contact@example.org', password: 'yml-service-desk-imap-pw', folder: 'Service Desk', after: 'seen' }
  ], ['MAILSLOT_INCOMING_EMAIL_PASSWORD', 'MAILSLOT_SERVICE_DESK_EMAIL_PASSWORD'])
})

t.test('Omnibus: gitlab.rb (plain with seen; STARTTLS with delete + expunge in ServiceDesk, user from encrypted credentials)', async t => {
  await sideBySide(t, 'gitlab.rb', [
    { type: 'incoming_email', user: 'incoming@gitlab.example.com', password: 'rb-incoming-imap-pw', folder: 'INBOX', after: 'seen' },
    { type: 'service_desk_email', user: 'support@gitlab.example.com', password: 'rb-service-desk-imap-pw', folder: 'ServiceDesk', after: 'delete' }
  ], ['MAILSLOT_INCOMING_EMAIL_PASSWORD', 'MAILSLOT_SERVICE_DESK_EMAIL_USER', 'MAILSLOT_SERVICE_DESK_EMAIL_PASSWORD'])
})
