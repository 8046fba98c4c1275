import t from 'tap'
import path from 'node:path'
import { ConfigError, loadSettings } from '../../src/config/settings.ts'

t.test('defaults follow docs/contract.md', async t => {
  const s = loadSettings({})
  t.equal(s.host, '127.0.0.1')
  t.equal(s.port, 3000)
  t.equal(s.dataDir, path.resolve('.mailslot'))
  t.equal(s.pollIntervalSeconds, 60)
  t.equal(s.maxEmailBytes, 25 * 1024 * 1024)
  t.equal(s.rawRetentionDays, 30)
  t.equal(s.databaseUrl, undefined)
  t.equal(s.adminToken, undefined)
  t.equal(s.encryptionKeys, undefined)
  t.equal(s.publicUrl, undefined)
  t.equal(s.handleRetryBaseSeconds, 2)
  t.equal(s.webhookAllowPrivate, false)
})

t.test('values are read and typed', async t => {
  const key = Buffer.alloc(32, 7).toString('base64')
  const s = loadSettings({
    DATABASE_URL: 'postgres://u:p@db:5432/mail', HOST: '0.0.0.0', PORT: '8080', MAILSLOT_ADMIN_TOKEN: 'x'.repeat(20),
    MAILSLOT_ENCRYPTION_KEY: key, MAILSLOT_PUBLIC_URL: 'https://mail.example.com/', MAILSLOT_POLL_INTERVAL: '30', MAILSLOT_DATA_DIR: '/tmp/x', MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '0.25', MAILSLOT_RAW_RETENTION_DAYS: '7',
    MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true'
  })
  t.equal(s.port, 8080)
  t.equal(s.host, '0.0.0.0')
  t.equal(s.databaseUrl, 'postgres://u:p@db:5432/mail')
  t.same(s.encryptionKeys, [Buffer.alloc(32, 7)])
  t.equal(s.publicUrl, 'https://mail.example.com')
  t.equal(s.pollIntervalSeconds, 30)
  t.equal(s.dataDir, '/tmp/x')
  t.equal(s.handleRetryBaseSeconds, 0.25)
  t.equal(s.rawRetentionDays, 7)
  t.equal(s.webhookAllowPrivate, true)
})

const EVENTS_SECRET = `whsec_${Buffer.alloc(24, 5).toString('base64')}`

const bad: Array<[Record<string, string>, string]> = [
  [{ PORT: 'abc' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ PORT: '-1' }, 'PORT'],
  [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
  [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
  [{ MAILSLOT_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, 'MAILSLOT_ENCRYPTION_KEY'],
  [{ MAILSLOT_ENCRYPTION_KEY: 'not base64!' }, 'MAILSLOT_ENCRYPTION_KEY'],
  [{ MAILSLOT_ADMIN_TOKEN: 'short' }, 'MAILSLOT_ADMIN_TOKEN'],
  [{ MAILSLOT_PUBLIC_URL: 'ftp://x' }, 'MAILSLOT_PUBLIC_URL'],
  [{ MAILSLOT_POLL_INTERVAL: '1' }, 'MAILSLOT_POLL_INTERVAL'],
  [{ MAILSLOT_LOG_LEVEL: 'loud' }, 'MAILSLOT_LOG_LEVEL'],
  [{ MAILSLOT_RAW_RETENTION_DAYS: '0' }, 'MAILSLOT_RAW_RETENTION_DAYS'],
  [{ MAILSLOT_RAW_RETENTION_DAYS: 'a month' }, 'MAILSLOT_RAW_RETENTION_DAYS'],
  [{ MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '-1' }, 'MAILSLOT_HANDLE_RETRY_BASE_SECONDS'],
  [{ MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '1e3' }, 'MAILSLOT_HANDLE_RETRY_BASE_SECONDS'],
  [{ MAILSLOT_HANDLE_RETRY_BASE_SECONDS: '3601' }, 'MAILSLOT_HANDLE_RETRY_BASE_SECONDS'],
  [{ MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'MAILSLOT_WEBHOOK_ALLOW_PRIVATE'],
  [{ MAILSLOT_EVENTS_URL: 'https://ops.example.com/events' }, 'MAILSLOT_EVENTS_SECRET'],
  [{ MAILSLOT_EVENTS_SECRET: EVENTS_SECRET }, 'MAILSLOT_EVENTS_URL'],
  [{ MAILSLOT_EVENTS_URL: 'ftp://ops.example.com/', MAILSLOT_EVENTS_SECRET: EVENTS_SECRET }, 'MAILSLOT_EVENTS_URL'],
  [{ MAILSLOT_EVENTS_URL: 'https://ops.example.com/', MAILSLOT_EVENTS_SECRET: 'not-a-whsec-secret-at-all' }, 'MAILSLOT_EVENTS_SECRET']
]
t.test('MAILSLOT_ENCRYPTION_KEY lists keys newest first; a bad entry is named by its position', async t => {
  const [a, b] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)]
  t.same(loadSettings({ MAILSLOT_ENCRYPTION_KEY: `${a.toString('base64')}, ${b.toString('base64')}` }).encryptionKeys, [a, b])
  const short = Buffer.alloc(16).toString('base64')
  t.throws(() => loadSettings({ MAILSLOT_ENCRYPTION_KEY: `${a.toString('base64')},${short}` }),
    { name: 'ConfigError', variable: 'MAILSLOT_ENCRYPTION_KEY', message: 'MAILSLOT_ENCRYPTION_KEY: entry 2 of 2 must decode to 32 bytes, got 16' })
  t.throws(() => loadSettings({ MAILSLOT_ENCRYPTION_KEY: `not base64!,${a.toString('base64')}` }),
    { message: 'MAILSLOT_ENCRYPTION_KEY: entry 1 of 2 must be base64' })
  t.throws(() => loadSettings({ MAILSLOT_ENCRYPTION_KEY: `${a.toString('base64')},` }),
    { message: /^MAILSLOT_ENCRYPTION_KEY: entry 2 of 2 is empty/ })
})

for (const [env, variable] of bad) {
  t.test(`bad ${variable}=${Object.values(env)[0]} is named`, async t => {
    let caught: unknown
    try { loadSettings(env) } catch (err) { caught = err }
    t.ok(caught instanceof ConfigError, 'a ConfigError')
    t.equal((caught as ConfigError).variable, variable)
    t.ok((caught as ConfigError).message.startsWith(variable), (caught as Error).message)
  })
}

t.test('MAILSLOT_EVENTS_URL and MAILSLOT_EVENTS_SECRET: both or neither, the URL under the outbound policy, the secret never quoted', async t => {
  t.equal(loadSettings({}).events, undefined, 'off by default')
  const url = 'https://ops.example.com/mailslot-events'
  t.same(loadSettings({ MAILSLOT_EVENTS_URL: url, MAILSLOT_EVENTS_SECRET: EVENTS_SECRET }).events, { url, secret: EVENTS_SECRET })
  t.throws(() => loadSettings({ MAILSLOT_EVENTS_URL: 'http://127.0.0.1:8080/events', MAILSLOT_EVENTS_SECRET: EVENTS_SECRET }), {
    variable: 'MAILSLOT_EVENTS_URL',
    message: 'MAILSLOT_EVENTS_URL: 127.0.0.1 is a loopback address; webhook targets must be public unless MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true'
  })
  t.throws(() => loadSettings({ MAILSLOT_EVENTS_URL: 'http://169.254.169.254/', MAILSLOT_EVENTS_SECRET: EVENTS_SECRET, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' }),
    { variable: 'MAILSLOT_EVENTS_URL', message: /link-local/ }, 'metadata addresses never')
  const local = 'http://127.0.0.1:8080/events'
  t.equal(loadSettings({ MAILSLOT_EVENTS_URL: local, MAILSLOT_EVENTS_SECRET: EVENTS_SECRET, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' }).events?.url, local,
    'loopback with MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true')
  const wrong = 'whsec_short'
  t.throws(() => loadSettings({ MAILSLOT_EVENTS_URL: url, MAILSLOT_EVENTS_SECRET: wrong }), { message: /^MAILSLOT_EVENTS_SECRET: must be whsec_/ })
  try { loadSettings({ MAILSLOT_EVENTS_URL: url, MAILSLOT_EVENTS_SECRET: wrong }) } catch (err) { t.notMatch((err as Error).message, wrong, 'the value is not quoted') }
})
