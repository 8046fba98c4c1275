/**
 * Over a full run (IMAP mailboxes with passwords delivering built-in, to a
 * signed webhook and to GitLab; a webhook-mode Graph mailbox with a client
 * secret and a live subscription; the admin token; signed operator events),
 * no secret value shows in an API answer, a log line at trace level,
 * /metrics, a web page, or, in clear, in any row of any table of the
 * database (pg-boss's jobs included).
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { startDovecot } from '../helpers/dovecot.ts'
import { makeEmail } from '../helpers/emails.ts'
import { waitFor } from '../helpers/wait.ts'
import { graphFixture, graphMailbox, view } from '../helpers/graph-fixture.ts'
import { gitlabCheck, startEndpoint, webhookCheck } from '../handlers/delivery-endpoint.ts'
import { startEventsEndpoint } from '../events/fixture.ts'
import { adminPages } from '../helpers/pages.ts'

const imap = await startDovecot()
t.teardown(async () => await imap.stop())

t.test('no secret in API answers, logs, /metrics or the database in clear', async t => {
  // the first event is refused, so that an event's failure is logged too
  const events = await startEventsEndpoint(t, (_r, n) => n === 1 ? { status: 500, body: 'boom' } : { status: 204 })
  const { fake, rt } = await graphFixture(t, {
    webhook: true, env: { MAILSLOT_LOG_LEVEL: 'trace', MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '0.2', MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true', ...events.env }
  })
  const whKey = randomBytes(32)
  const whsec = `whsec_${whKey.toString('base64')}`
  const glKey = randomBytes(32)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-secrets-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const secretFile = path.join(dir, '.gitlab_mailroom_secret')
  await writeFile(secretFile, `${glKey.toString('base64')}\n`)
  // the first webhook attempt fails, so that a delivery error is logged and retried
  const hook = await startEndpoint(t, webhookCheck(whsec), (_r, n) => n === 1 ? { status: 500, body: 'boom' } : { status: 204 })
  const gl = await startEndpoint(t, gitlabCheck(new Uint8Array(glKey)))

  const passwords: string[] = []
  const to = 'incoming+group-project-12-abc123-issue@example.com'
  const imapBox = async (name: string, delivery: Record<string, unknown>, i: number, wrongPassword?: string): Promise<void> => {
    const u = imap.addUser()
    const password = wrongPassword ?? u.password
    passwords.push(password)
    await imap.appendMany(u.user, 'INBOX', [makeEmail(i, { to })])
    const res = await rt.api('POST', '/api/v1/mailboxes', {
      name, provider: 'imap', address: 'incoming+%{key}@example.com', delivery,
      imap: { host: imap.host, port: imap.port, tls: 'none', user: u.user, password, connectTimeoutSeconds: 5 }
    })
    t.equal(res.status, 201, res.text)
  }
  await imapBox('imap-builtin', { kind: 'builtin' }, 1)
  await imapBox('imap-webhook', { kind: 'webhook', url: `${hook.url}/hooks/mail`, secret: whsec }, 2)
  await imapBox('imap-gitlab', { kind: 'gitlab', url: gl.url, mailboxType: 'incoming_email', secretFile }, 3)
  // a login refused: its error is logged and shown in the health
  await imapBox('imap-refused', { kind: 'builtin' }, 5, 'wrong-' + randomBytes(9).toString('hex'))
  const box = fake.addMailbox('erin@contoso.example')
  box.addMessage('Inbox', makeEmail(4, { to }))
  const spec = graphMailbox(fake, box)
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  await waitFor(async () => (await view(rt, spec.name as string)).subscription?.state === 'active', 'subscribed')
  const clientState = fake.subscriptions()[0].clientState as string

  // every mailbox synced and its email handled
  const emails = await waitFor(async () => {
    const items = (await rt.api('GET', '/api/v1/emails?limit=1000')).body.items as Array<{ id: number, status: string }>
    return items.length === 4 && items.every(e => ['delivered', 'rejected'].includes(e.status)) && items
  }, 'four emails handled', 60_000)
  t.equal(hook.received.length, 2, 'webhook delivered on the second attempt')
  await waitFor(async () => (await view(rt, 'imap-refused')).health.state === 'auth_failed', 'the refused login recorded')
  t.match(rt.logs(), /mailbox sync failed/)
  t.match(rt.logs(), /email handling failed|delivery.*failed|500/)
  t.equal(gl.received.length, 1, 'GitLab delivered')
  t.ok(events.events().length >= 5, 'operator events sent')
  t.match(rt.logs(), /operator event not delivered/)

  const secrets: Record<string, string> = {
    ...Object.fromEntries(passwords.map((p, i) => [`IMAP password ${i + 1}`, p])),
    'webhook secret': whsec,
    'webhook key (base64)': whKey.toString('base64'),
    'GitLab secret (base64)': glKey.toString('base64'),
    'Graph client secret': fake.clientSecret,
    'Graph clientState': clientState,
    'admin token': rt.token,
    'events secret': events.secret,
    'events key (base64)': events.secret.slice('whsec_'.length)
  }
  const rawKeys: Record<string, Buffer> = { 'webhook key (bytes)': whKey, 'GitLab secret (bytes)': glKey }
  const absentFrom = (where: string, text: string): void => {
    for (const [what, value] of Object.entries(secrets)) t.notOk(text.includes(value), `${what} not in ${where}`)
  }

  // (a) API answers
  const answers = [
    await rt.api('GET', '/api/v1/mailboxes'),
    ...await Promise.all(['imap-builtin', 'imap-webhook', 'imap-gitlab', 'imap-refused', spec.name as string].map(async n => await rt.api('GET', `/api/v1/mailboxes/${n}`))),
    await rt.api('GET', '/api/v1/emails?limit=1000'),
    ...await Promise.all(emails.map(async e => await rt.api('GET', `/api/v1/emails/${e.id}`))),
    await rt.api('GET', '/api/v1/projects')
  ]
  for (const a of answers) t.equal(a.status, 200)
  absentFrom('API answers', answers.map(a => a.text).join('\n'))

  // (a') web pages: the admin pages of every mailbox and a status page
  const page = await adminPages(String(rt.address), rt.token)
  const names = ['imap-builtin', 'imap-webhook', 'imap-gitlab', 'imap-refused', spec.name as string]
  const statusLink = await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/status-link`)
  const pages = await Promise.all(['/admin/mailboxes', ...names.map(n => `/admin/mailboxes/${n}`), new URL(statusLink.body.url as string).pathname].map(page))
  for (const p of pages) t.equal(p.status, 200)
  absentFrom('web pages', pages.map(p => p.html).join('\n'))
  // from here on, the status link's token too: never logged, stored only as its SHA-256
  secrets['status link token'] = (statusLink.body.url as string).split('/').at(-1) as string

  // (b) logs at trace level, (c) /metrics
  t.equal(rt.ctx.log.level, 'trace', 'logging everything')
  t.ok(rt.logs().split('\n').length > 5, `${rt.logs().split('\n').length} log lines`)
  absentFrom('logs', rt.logs())
  absentFrom('/metrics', (await rt.api('GET', '/metrics')).text)

  // (d) every row of every table of every schema: as JSON text (bytea in hex, then escape) and as bytes
  const db = new pg.Client({ connectionString: rt.databaseUrl })
  await db.connect()
  t.teardown(async () => await db.end())
  const { rows: tables } = await db.query<{ s: string, n: string }>(
    `SELECT table_schema AS s, table_name AS n FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)
  t.ok(tables.some(x => x.s === 'mailslot_boss' && x.n === 'job'), 'pg-boss jobs included')
  const { rows: byteaColumns } = await db.query<{ s: string, n: string, c: string }>(
    `SELECT table_schema AS s, table_name AS n, column_name AS c FROM information_schema.columns
     WHERE data_type = 'bytea' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
  const dump = async (): Promise<string> => {
    const out: string[] = []
    for (const { s, n } of tables) {
      const { rows } = await db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(n)} x`)
      out.push(...rows.map(r => r.j))
    }
    return out.join('\n')
  }
  await db.query(`SET bytea_output = 'hex'`)
  const hexDump = await dump()
  await db.query(`SET bytea_output = 'escape'`)
  const escapeDump = await dump()
  t.ok(hexDump.includes('"secrets":"\\\\x'), 'the sealed secrets are in the hex dump')
  t.ok(hexDump.length > 10_000, `dumped ${tables.length} tables, ${hexDump.length} characters`)
  absentFrom('the database (bytea as hex)', hexDump)
  absentFrom('the database (bytea as escape)', escapeDump)
  const hexOf = (b: Buffer): string => b.toString('hex')
  for (const [what, value] of [...Object.entries(secrets).map(([w, v]) => [w, Buffer.from(v)] as const), ...Object.entries(rawKeys)]) {
    t.notOk(hexDump.includes(hexOf(value)), `${what} not in the hex of any bytea`)
  }
  const bytes: Buffer[] = []
  for (const { s, n, c } of byteaColumns) {
    const { rows } = await db.query<{ b: Buffer }>(`SELECT ${pg.escapeIdentifier(c)} AS b FROM ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(n)} WHERE ${pg.escapeIdentifier(c)} IS NOT NULL`)
    bytes.push(...rows.map(r => r.b))
  }
  t.ok(bytes.length >= 8, `${bytes.length} bytea values read`)
  for (const [what, value] of Object.entries(rawKeys)) t.notOk(bytes.some(b => b.includes(value)), `${what} in no bytea value`)
  for (const [what, value] of Object.entries(secrets)) t.notOk(bytes.some(b => b.includes(Buffer.from(value))), `${what} in no bytea value`)
})
