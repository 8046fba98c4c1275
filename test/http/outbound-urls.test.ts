// Delivery URLs at mailbox creation (CONTRACT "Outbound URLs"): webhook
// targets public-only unless MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true; gitlab may
// be private; link-local, metadata and unspecified never. Web-only runtimes:
// nothing is delivered.
import t from 'tap'
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

const strict = await startTestRuntime(t, { role: 'web' })
const allowing = await startTestRuntime(t, {
  role: 'web', databaseUrl: strict.databaseUrl, env: { ...strict.env, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' }
})
const secret = 'whsec_' + Buffer.from('webhook-secret-value-1234').toString('base64')
let n = 0

async function create (rt: TestRuntime, delivery: Record<string, unknown>): Promise<{ status: number, body: any }> {
  const res = await rt.api('POST', '/api/v1/mailboxes', {
    name: `out-${++n}`, provider: 'imap', imap: { host: 'imap.example.com', user: 'u', password: 'p' }, delivery
  }, strict.token)
  return { status: res.status, body: res.body }
}
const webhook = (url: string) => ({ kind: 'webhook', url, secret })
const gitlab = (url: string) => ({ kind: 'gitlab', url, mailboxType: 'incoming_email', secretFile: '/run/secrets/gitlab' })

const privateUrls = ['http://127.0.0.1:8080/hook', 'http://10.0.0.1/hook', 'http://[::1]/hook', 'http://localhost:9000/hook',
  'http://[::ffff:127.0.0.1]/hook', 'http://100.64.0.1/hook', 'http://192.168.1.10/hook', 'http://2130706433/hook']
const neverUrls = ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/hook', 'http://0.0.0.0:8080/hook', 'http://[::]/hook',
  'http://100.100.100.200/hook']

t.test('webhook to a loopback, private or CGNAT address: 400 invalid_delivery.url naming the address', async t => {
  for (const url of [...privateUrls, ...neverUrls]) {
    const res = await create(strict, webhook(url))
    t.equal(res.status, 400, url)
    t.match(res.body, { error: { code: 'invalid_delivery.url', field: 'delivery.url', message: /^delivery\.url is refused: \S+ is / } }, url)
  }
  t.match((await create(strict, webhook('http://127.0.0.1/'))).body.error.message, /MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true/, 'the message says how to allow it')
  t.equal((await create(strict, webhook('https://hooks.example.com/mail'))).status, 201, 'a public name is accepted')
  t.equal((await create(strict, webhook('https://93.184.215.14/mail'))).status, 201, 'a public address too')
})

t.test('with MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true: private targets accepted, link-local, metadata and unspecified still refused', async t => {
  for (const url of privateUrls) t.equal((await create(allowing, webhook(url))).status, 201, url)
  for (const url of neverUrls) t.match(await create(allowing, webhook(url)), { status: 400, body: { error: { code: 'invalid_delivery.url' } } }, url)
})

t.test('gitlab: loopback and private accepted without the flag; link-local, metadata, unspecified never', async t => {
  for (const url of ['http://127.0.0.1:8080', 'http://localhost', 'http://10.0.0.5', 'http://[::1]:3000']) {
    t.equal((await create(strict, gitlab(url))).status, 201, url)
  }
  for (const rt of [strict, allowing]) {
    for (const url of neverUrls) t.match(await create(rt, gitlab(url)), { status: 400, body: { error: { code: 'invalid_delivery.url' } } }, url)
  }
})
