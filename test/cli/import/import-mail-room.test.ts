import t, { type Test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parse } from 'yaml'
import { runCli } from '../../helpers/cli.ts'
import { ROOT } from '../../setup/shared-db.ts'
import { validateMailboxJson } from '../../../src/mailboxes/schema.ts'
import { importText } from '../../../src/cli/import/command.ts'

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'mail-room')
const fixture = (name: string): string => path.join(FIXTURES, name)
/** Every secret the fixtures hold: none may appear in the output or the report. */
const SECRETS = ['mr-imap-secret-1', 'mr-imap-secret-2', 'yml-imap-secret-1', 'yml-imap-secret-2', '[REDACTED]', 'smtp-secret-9', 'graph-secret-3']

interface Box { name: string, provider: string, imap?: Record<string, unknown>, graph?: Record<string, unknown>, [k: string]: unknown }

/** Secret references replaced by a dummy value, as the config loader would resolve them. */
function resolveRefs (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolveRefs)
  if (typeof v !== 'object' || v === null) return v
  const o = v as Record<string, unknown>
  if (Object.keys(o).length === 1 && typeof o.env === 'string') return 'dummy-secret'
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveRefs(x)]))
}

/** The import run in-process on a fixture (the CLI itself is run below, for exit codes and files). */
async function imported (t: Test, file: string): Promise<{ boxes: Box[], stdout: string, stderr: string }> {
  const r = importText(await readFile(fixture(file), 'utf8'), fixture(file))
  const stdout = r.yaml ?? ''
  const stderr = r.lines.join('\n')
  t.equal(r.code, 0, stderr)
  for (const s of SECRETS) {
    t.notOk(stdout.includes(s), `${s} not in the output`)
    t.notOk(stderr.includes(s), `${s} not in the report`)
  }
  const boxes = (parse(stdout) as { mailboxes: Box[] }).mailboxes
  for (const box of boxes) {
    const check = validateMailboxJson(resolveRefs(box), false)
    t.ok(check.ok, `${box.name} validates: ${JSON.stringify(check)}`)
  }
  return { boxes, stdout, stderr }
}

const byName = (boxes: Box[], name: string): Box => boxes.find(b => b.name === name) as Box

t.test('mail_room YAML as GitLab renders it: two postback mailboxes', async t => {
  const { boxes, stdout, stderr } = await imported(t, 'mail_room.yml')
  t.match(stderr, 'read ' + fixture('mail_room.yml') + ' as mail_room YAML')
  t.same(boxes.map(b => b.name), ['incoming_email', 'service_desk_email'])
  const incoming = byName(boxes, 'incoming_email')
  t.same(incoming.imap, {
    host: 'imap.example.com', port: 993, tls: 'implicit', user: 'incoming@example.com',
    password: { env: 'MAILSLOT_INCOMING_EMAIL_PASSWORD' }, folder: 'inbox'
  })
  t.equal(incoming.afterDelivery, 'delete', 'delete_after_delivery + expunge_deleted')
  t.same(incoming.delivery, {
    kind: 'gitlab', url: 'https://gitlab.example.com', mailboxType: 'incoming_email',
    secretFile: '/var/opt/gitlab/gitlab-rails/etc/incoming_email_secret'
  })
  t.notOk('address' in incoming, 'mail_room.yml has no address')
  const desk = byName(boxes, 'service_desk_email')
  t.same(desk.imap, {
    host: 'imap.example.com', port: 143, tls: 'starttls', user: 'support@example.com',
    password: { env: 'MAILSLOT_SERVICE_DESK_EMAIL_PASSWORD' }, folder: 'Service Desk', search: 'new'
  })
  t.equal(desk.afterDelivery, 'seen')
  t.equal((desk.delivery as { mailboxType: string }).mailboxType, 'service_desk_email')

  t.match(stderr, /incoming_email: mailbox 1 :arbitration_method: not needed: PostgreSQL coordinates/)
  t.match(stderr, /mailbox 1 :idle_timeout: mailslot has no IMAP IDLE yet: it polls every pollIntervalSeconds/)
  t.match(stderr, /mailbox 1 :logger: :log_path: mailslot logs JSON lines to stdout/)
  t.match(stderr, /mailbox 1 :expunge_deleted: with delete_after_delivery → afterDelivery: delete: .*expunges it at once/)
  t.match(stderr, /mailbox 2 :search_command: NEW → imap.search: new/)
  t.match(stderr, /header Gitlab-Mailroom-Api-Request, issuer gitlab-mailroom, HS256/)
  t.match(stderr, /set MAILSLOT_INCOMING_EMAIL_PASSWORD, MAILSLOT_SERVICE_DESK_EMAIL_PASSWORD/)
  t.match(stdout, /^# mailslot configuration imported by `mailslot import mail-room`\n# {3}read /, 'the report heads the output too')
})

t.test('gitlab.yml with anchors and merge keys: production, both sections, sidekiq explained', async t => {
  const { boxes, stderr } = await imported(t, 'gitlab.yml')
  t.match(stderr, 'as gitlab.yml')
  const incoming = byName(boxes, 'incoming_email')
  const desk = byName(boxes, 'service_desk_email')
  t.equal(incoming.address, 'gitlab-incoming+%{key}@example.org')
  t.equal(desk.address, 'project_contact+%{key}@example.org')
  t.same(desk.imap, {
    host: 'imap.example.org', port: 993, tls: 'implicit', user: 'project_contact@example.org',
    password: { env: 'MAILSLOT_SERVICE_DESK_EMAIL_PASSWORD' }, folder: 'inbox'
  }, 'host, port and ssl come through the <<: *incoming merge')
  t.equal(incoming.afterDelivery, 'delete', 'GitLab\'s default delete_after_delivery: true')
  t.equal(desk.afterDelivery, 'seen')
  t.same(incoming.delivery, {
    kind: 'gitlab', url: 'https://gitlab.example.org:8443', mailboxType: 'incoming_email', secretFile: '/home/git/gitlab/.gitlab_incoming_email_secret'
  })
  t.equal((desk.delivery as { secretFile: string }).secretFile, '/home/git/gitlab/.gitlab_service_desk_email_secret')
  t.match(stderr, /warning: incoming_email: incoming_email\.delivery_method: sidekiq: mailslot does not queue jobs in GitLab's Redis; it delivers through GitLab's internal API/)
  t.match(stderr, /Set incoming_email\.delivery_method: webhook in gitlab\.yml/)
  t.match(stderr, /incoming_email\.secret_file: is not set: GitLab's default \/home\/git\/gitlab\/\.gitlab_incoming_email_secret assumed/)
  t.match(stderr, /warning: incoming_email: incoming_email\.expunge_deleted: is false, but mailslot's afterDelivery: delete also expunges/)
  t.notMatch(stderr, /service_desk_email: service_desk_email\.delivery_method: sidekiq/)
})

t.test('gitlab.rb: the docs example, a Graph service desk inbox, unparsable lines by number', async t => {
  const { boxes, stderr } = await imported(t, 'gitlab.rb')
  t.match(stderr, 'as gitlab.rb')
  const incoming = byName(boxes, 'incoming_email')
  t.same(incoming.imap, {
    host: 'imap.gmail.com', port: 993, tls: 'implicit', user: 'gitlab-incoming@gmail.com',
    password: { env: 'MAILSLOT_INCOMING_EMAIL_PASSWORD' }, folder: 'inbox'
  })
  t.equal(incoming.address, 'gitlab-incoming+%{key}@gmail.com')
  t.equal(incoming.afterDelivery, 'delete')
  t.same(incoming.delivery, {
    kind: 'gitlab', url: 'https://gitlab.example.net', mailboxType: 'incoming_email',
    secretFile: '/opt/gitlab/embedded/service/gitlab-rails/.gitlab_incoming_email_secret'
  })
  const desk = byName(boxes, 'service_desk_email')
  t.equal(desk.provider, 'graph')
  t.same(desk.graph, {
    tenantId: 'contoso-tenant', clientId: 'app-client-id', clientSecret: { env: 'MAILSLOT_SERVICE_DESK_EMAIL_CLIENT_SECRET' },
    user: 'project_contact@example.onmicrosoft.com', folder: 'inbox', cloud: 'usgov'
  }, 'azure_ad_endpoint/graph_endpoint of US Gov → cloud usgov')
  t.equal(desk.mode, 'poll')
  t.equal(desk.pollIntervalSeconds, 90)
  t.equal(desk.afterDelivery, 'delete')
  t.match(stderr, /gitlab\.rb line 37: gitlab_rails\['service_desk_email_secret_file'\] is not a plain value: not imported/)
  t.match(stderr, /Graph webhooks need MAILSLOT_PUBLIC_URL/)
  t.match(stderr, /gitlab_rails\['service_desk_email_delivery_method'\]: sidekiq: .*gitlab_rails\['service_desk_email_delivery_method'\] = "webhook" in gitlab\.rb/)
  t.match(stderr, /gitlab_rails\['incoming_email_log_file'\]: mailslot logs JSON lines to stdout/)
})

t.test('the real CLI: stdout, --out once, --force, exit 2 for unreadable and unrecognised input', async t => {
  const dir = t.testdir()
  const out = path.join(dir, 'mailslot.yml')
  await writeFile(out, 'kept: true\n')
  const other = path.join(dir, 'other.yml')
  await writeFile(other, 'foo: bar\n')
  const [stdout, refused, forced, missing, unknown, usage] = await Promise.all([
    runCli(['import', 'mail-room', fixture('gitlab.rb')], {}),
    runCli(['import', 'mail-room', fixture('gitlab.yml'), '--out', out], {}),
    runCli(['import', 'mail-room', fixture('gitlab.yml'), '--out', path.join(dir, 'new.yml'), '--force'], {}),
    runCli(['import', 'mail-room', path.join(dir, 'nope.yml')], {}),
    runCli(['import', 'mail-room', other], {}),
    runCli(['import', 'mail-room'], {})
  ])
  t.equal(stdout.code, 0, stdout.code === 0 ? 'exit 0' : stdout.stderr)
  t.equal((parse(stdout.stdout) as { mailboxes: unknown[] }).mailboxes.length, 2)
  t.match(stdout.stderr, /^mailslot: import mail-room: read .*gitlab\.rb as gitlab\.rb\n/)
  for (const s of SECRETS) t.notOk(stdout.stdout.includes(s) || stdout.stderr.includes(s), `${s} not shown`)

  t.equal(refused.code, 2)
  t.match(refused.stderr, `${out} exists: pass --force to overwrite it`)
  t.equal(await readFile(out, 'utf8'), 'kept: true\n', 'an existing file is left as it was')
  t.equal(forced.code, 0, forced.code === 0 ? 'exit 0' : forced.stderr)
  t.equal(forced.stdout, '')
  t.match(forced.stderr, `wrote ${path.join(dir, 'new.yml')}`)
  const written = await readFile(path.join(dir, 'new.yml'), 'utf8')
  t.match(written, /^# mailslot configuration imported by `mailslot import mail-room`\n# {3}read .* as gitlab\.yml/)
  t.equal((parse(written) as { mailboxes: unknown[] }).mailboxes.length, 2)

  t.equal(missing.code, 2)
  t.match(missing.stderr, /^mailslot: import mail-room: .*nope\.yml cannot be read \(ENOENT\)\n$/)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^mailslot: import mail-room: .*other\.yml is not a mail_room YAML \(:mailboxes:\), a gitlab\.yml .* or a gitlab\.rb[^\n]*\n$/)
  t.equal(usage.code, 2)
  t.match(usage.stderr, 'import mail-room needs exactly one FILE')
})

t.test('an ERB template or a mailbox that cannot be mapped gives exit 2 and no output', async t => {
  const template = importText(':mailboxes:\n  <% Gitlab::MailRoom.enabled_configs.each do |key, config| %>\n', 'mail_room.yml')
  t.equal(template.code, 2)
  t.match(template.lines.join('\n'), /ERB template .* import gitlab\.yml \(source\) or gitlab\.rb \(Omnibus\) instead/)

  const rs = (await readFile(fixture('mail_room.yml'), 'utf8')).replace(':jwt_algorithm: "HS256"', ':jwt_algorithm: "RS256"')
  const alg = importText(rs, 'rs256.yml')
  t.equal(alg.code, 2)
  t.equal(alg.yaml, undefined, 'nothing written')
  t.match(alg.lines.join('\n'), /error: incoming_email: mailbox 1 :delivery_options: :jwt_algorithm: RS256: GitLab's internal API and mailslot use HS256 only/)
  t.match(alg.lines.at(-1), 'not written: fix the errors above')

  const logger = importText(':mailboxes:\n  - :host: imap.example.com\n    :email: u@example.com\n    :delivery_method: logger\n', 'logger.yml')
  t.equal(logger.code, 2)
  t.match(logger.lines.join('\n'), /:delivery_method: "logger" does not deliver to GitLab/)
})

t.test('GitLab\'s encrypted credentials: the user becomes a reference too; a mail_room YAML without :email: is an error', async t => {
  const yml = importText([
    'production:',
    '  gitlab: { host: gitlab.example.org, https: true }',
    '  incoming_email:',
    '    enabled: true',
    '    address: "incoming+%{key}@example.org"',
    '    host: imap.example.org',
    '    encrypted_secret_file: /home/git/gitlab/shared/encrypted_settings/incoming_email.yaml.enc',
    '    delivery_method: webhook',
    '    secret_file: /home/git/gitlab/.gitlab_incoming_email_secret',
    ''
  ].join('\n'), 'gitlab.yml')
  t.equal(yml.code, 0, yml.lines.join('\n'))
  const imap = (parse(yml.yaml!) as { mailboxes: Box[] }).mailboxes[0].imap
  t.same(imap?.user, { env: 'MAILSLOT_INCOMING_EMAIL_USER' })
  t.match(yml.lines.join('\n'), /warning: incoming_email: incoming_email\.encrypted_secret_file: user and password come from GitLab's encrypted credentials, .*: set MAILSLOT_INCOMING_EMAIL_USER and MAILSLOT_INCOMING_EMAIL_PASSWORD \(`gitlab-rake gitlab:incoming_email:secret:show` shows them\)/)

  const rendered = importText(':mailboxes:\n  - :host: imap.example.com\n    :delivery_method: postback\n', 'mail_room.yml')
  t.equal(rendered.code, 2)
  t.match(rendered.lines.join('\n'), /error: mail_room_1: mailbox 1 :email: is not set: mailslot needs the IMAP user/)
})
