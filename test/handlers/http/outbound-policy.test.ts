// The outbound policy where deliveries connect (transport.ts): refused
// addresses are never connected to, names are checked on what they resolve
// to at each connection (a name turned loopback after creation, as DNS
// rebinding would), redirects are not followed. Every socket the process
// opens is watched: none ever goes beyond loopback.
import t, { type Test } from 'tap'
import dc from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import { postDelivery } from '../../../src/handlers/http/post.ts'
import { RetryableError } from '../../../src/inbound/lifecycle.ts'
import type { Reach } from '../../../src/shared/address-policy.ts'
import { makeEmail } from '../../helpers/emails.ts'
import { startTestRuntime } from '../../helpers/runtime.ts'
import { deliveryFixture } from '../delivery-fixture.ts'
import { startEndpoint, webhookCheck } from '../delivery-endpoint.ts'

/** Every client socket created in this process, and where each one connected. */
const sockets: Array<{ remote?: string }> = []
dc.subscribe('net.client.socket', (message) => {
  const entry: { remote?: string } = {}
  sockets.push(entry)
  const socket = (message as { socket: Socket }).socket
  socket.once('connect', () => { entry.remote = socket.remoteAddress })
})
const connectedTo = (from: number): string[] => sockets.slice(from).flatMap(s => s.remote === undefined ? [] : [s.remote])

async function refusal (t: Test, url: string, reach: Reach): Promise<string> {
  const from = sockets.length
  try {
    await postDelivery({ what: 'the webhook endpoint', url, headers: {}, body: 'x', reach })
  } catch (err) {
    t.notOk(err instanceof RetryableError, `${url}: permanent`)
    t.same(connectedTo(from), [], `${url}: no connection made`)
    return (err as Error).message
  }
  throw new Error(`${url} was delivered`)
}

t.test('refused addresses: a permanent error naming the address, no connection, the endpoint gets nothing', async t => {
  const hook = await startEndpoint(t, async () => {})
  const port = new URL(hook.url).port
  const from = sockets.length
  t.match(await refusal(t, `${hook.url}/x`, 'public'), /^the webhook endpoint at http:\/\/127\.0\.0\.1:\d+\/x: not connected, 127\.0\.0\.1 is a loopback address; /)
  for (const [url, reach] of [['http://10.0.0.1/x', 'public'], ['http://169.254.169.254/latest', 'private'], ['http://[fe80::1]/x', 'private'],
    ['http://0.0.0.0:9/x', 'private'], ['http://[::ffff:169.254.169.254]/x', 'private']] as const) {
    t.match(await refusal(t, url, reach), /not connected, \S+ is an? (private|link-local|unspecified) address/)
  }
  t.equal(sockets.length, from, 'an address in the URL is refused before any socket exists')
  // a name: resolved, then refused before connecting
  t.match(await refusal(t, `http://localhost:${port}/x`, 'public'), /not connected, localhost resolves to (127\.0\.0\.1|::1), a loopback address; /)
  t.equal(hook.received.length, 0, 'the endpoint received nothing')

  t.match(await postDelivery({ what: 'GitLab', url: `http://localhost:${port}/x`, headers: {}, body: 'x', reach: 'private' }), { status: 200 },
    'the same name under the private reach (gitlab) is delivered')
  t.equal(hook.received.length, 1)
})

t.test('redirects are not followed, even to an allowed address', async t => {
  const hook = await startEndpoint(t, async () => {}, () => ({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } }))
  const from = sockets.length
  const err = await postDelivery({ what: 'GitLab', url: `${hook.url}/x`, headers: {}, body: 'x', reach: 'private' }).catch((e: Error) => e)
  t.match(err, { message: /answered 302/ })
  t.notOk(err instanceof RetryableError, 'permanent')
  t.same(connectedTo(from), ['127.0.0.1'], 'one connection, to the endpoint only')
})

t.test('a webhook URL accepted while private targets were allowed, delivered by a process where they are not: failed, nothing sent', async t => {
  const fx = await deliveryFixture(t)
  const secret = `whsec_${Buffer.from('rebinding-test-secret-value').toString('base64')}`
  const hook = await startEndpoint(t, webhookCheck(secret), () => ({ status: 204 }))
  // another process of the same installation, with MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true, accepts the URL
  const allowing = await startTestRuntime(t, {
    role: 'web', databaseUrl: fx.rt.databaseUrl, env: { ...fx.rt.env, MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true' }
  })
  const u = fx.imap.addUser()
  await fx.imap.appendMany(u.user, 'INBOX', [makeEmail(1, { to: 'incoming+group-project-1-abc-issue@example.com' })])
  const url = `http://localhost:${new URL(hook.url).port}/hooks/mail`
  const created = await allowing.api('POST', '/api/v1/mailboxes', {
    name: 'rebound',
    provider: 'imap',
    imap: { host: fx.imap.host, port: fx.imap.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5 },
    address: 'incoming+%{key}@example.com',
    delivery: { kind: 'webhook', url, secret }
  }, fx.rt.token)
  t.equal(created.status, 201, 'accepted where private targets are allowed')

  const [email] = await fx.settled('rebound', 1)
  t.match(email, {
    status: 'failed',
    attempts: 1,
    lastError: /^the webhook endpoint at http:\/\/localhost:\d+\/hooks\/mail: not connected, localhost resolves to (127\.0\.0\.1|::1), a loopback address; /
  }, 'failed at once, naming the refused address')
  t.equal(hook.received.length, 0, 'the endpoint received nothing')
})

t.test('no socket of this test file ever connected beyond loopback', async t => {
  const outside = sockets.flatMap(s => s.remote === undefined || /^(127\.|::1$|::ffff:127\.)/.test(s.remote) ? [] : [s.remote])
  t.same(outside, [])
})
