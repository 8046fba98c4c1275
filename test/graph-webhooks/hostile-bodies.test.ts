// Oversized and malformed bodies on the Graph webhook routes: each answered
// 4xx (never 5xx), nothing stored, nothing queued. A well-formed notification
// for the same subscription is stored, so the counts would see a leak.
import t from 'tap'
import net from 'node:net'
import { sealClientState } from '../../src/graph-webhooks/client-state.ts'
import { saveActive } from '../../src/graph-webhooks/subscriptions/repository.ts'
import { startTestRuntime } from '../helpers/runtime.ts'
import { countRows } from '../helpers/rows.ts'

const rt = await startTestRuntime(t, { role: 'web' })
const created = await rt.api('POST', '/api/v1/mailboxes', {
  name: 'graph-hostile',
  provider: 'graph',
  mode: 'webhook',
  graph: { tenantId: 't', clientId: 'c', clientSecret: 's', user: 'u@contoso.example' },
  delivery: { kind: 'builtin' }
})
if (created.status !== 201) throw new Error(created.text)
const clientState = 'x'.repeat(64)
await saveActive(rt.ctx.pool, created.body.id, {
  subscriptionId: 'sub-1',
  sealedClientState: sealClientState(rt.ctx.keyring, clientState),
  resource: 'users/u/messages',
  notificationUrl: 'https://mailslot.example.com/graph/notifications',
  expiresAt: new Date(Date.now() + 3_600_000).toISOString()
})
const item = { subscriptionId: 'sub-1', clientState, changeType: 'created', resource: 'Users/u/Messages/m1', resourceData: { id: 'm1' } }
const valid = JSON.stringify({ value: [item] })

const stored = async (): Promise<{ rows: number, jobs: number }> => ({
  rows: await countRows(rt, 'SELECT count(*)::int AS n FROM graph_notifications'),
  jobs: await countRows(rt, 'SELECT count(*)::int AS n FROM mailslot_boss.job')
})

type Body = string | Uint8Array<ArrayBuffer>

async function post (
  path: string, body: Body, contentType?: string, extra: Record<string, string> = {}
): Promise<{ status: number, text: string }> {
  const headers: Record<string, string> = { ...extra }
  if (contentType !== undefined) headers['content-type'] = contentType
  const res = await fetch(`${rt.address!}${path}`, { method: 'POST', headers, body })
  return { status: res.status, text: await res.text() }
}

const deep = (n: number): string => `{"value":[{"subscriptionId":"sub-1","x":${'['.repeat(n)}${']'.repeat(n)}}]}`

const hostile: Array<[string, Body, string | undefined, number, Record<string, string>?]> = [
  ['a 2 MB body', JSON.stringify({ value: [{ ...item, pad: 'a'.repeat(2 * 1024 * 1024) }] }), 'application/json', 413],
  ['2 MB of text/plain', 'a'.repeat(2 * 1024 * 1024), 'text/plain', 413],
  ['broken JSON', valid.slice(0, -3), 'application/json', 400],
  ['an empty JSON body', '', 'application/json', 400],
  ['binary with NULs', new Uint8Array([0, 1, 2, 0, 255, 0]), 'application/json', 400],
  ['XML', '<value><item/></value>', 'application/xml', 415],
  ['form data', 'value=1', 'application/x-www-form-urlencoded', 415],
  ['no content type', Buffer.from(valid), undefined, 415],
  ['gzip claimed, bytes not JSON', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), 'application/json', 400, { 'content-encoding': 'gzip' }],
  ['a JSON array', JSON.stringify([item]), 'application/json', 400],
  ['a JSON string', '"value"', 'application/json', 400],
  ['null', 'null', 'application/json', 400],
  ['no value', JSON.stringify({ items: [item] }), 'application/json', 400],
  ['value of numbers', JSON.stringify({ value: [1, 2, 3] }), 'application/json', 400],
  ['1001 items', JSON.stringify({ value: Array.from({ length: 1001 }, () => item) }), 'application/json', 400],
  ['__proto__ pollution', `{"value":[${JSON.stringify(item)}],"__proto__":{"polluted":true}}`, 'application/json', 400],
  ['text/plain without a validation token', valid, 'text/plain', 400],
  ['200,000-deep nesting', deep(200_000), 'application/json', 202]
]

t.test('well-formed: stored (the counts below would see a leak)', async t => {
  const before = await stored()
  t.equal((await post('/graph/notifications', valid, 'application/json')).status, 202)
  t.equal((await stored()).rows, before.rows + 1)
})

for (const path of ['/graph/notifications', '/graph/lifecycle']) {
  t.test(`${path}: hostile bodies get 4xx, nothing stored or queued`, async t => {
    const before = await stored()
    for (const [what, body, type, status, headers] of hostile) {
      // the deep one is valid JSON of a known subscription without its clientState: dropped, still 202
      const res = await post(path, body, type, headers)
      t.equal(res.status, status, `${what}: ${status}`)
      if (status !== 202) t.match(JSON.parse(res.text), { error: { code: String, message: String } }, `${what}: the error shape`)
    }
    t.same(await stored(), before, 'no row and no job')
    t.equal((await fetch(`${rt.address!}/healthz`)).status, 200, 'the process is up')
  })
}

t.test('a body longer than its Content-Length, or a lying chunked one, is not a 5xx', async t => {
  const before = await stored()
  const { hostname, port } = new URL(rt.address!)
  const raw = async (request: string): Promise<string> => await new Promise(resolve => {
    const s = net.connect(Number(port), hostname, () => s.end(request))
    let got = ''
    s.on('data', (d: Buffer) => { got += d.toString('latin1') })
    s.on('close', () => resolve(got))
    s.on('error', () => resolve(got))
  })
  const long = await raw(`POST /graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${valid}`)
  t.match(long, /^HTTP\/1\.1 4\d\d /, 'the first 5 bytes are not JSON: 4xx')
  const chunked = await raw('POST /graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')
  t.match(chunked, /^HTTP\/1\.1 400 /, 'a bad chunk size: 400')
  const both = await raw(`POST /graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${valid}`)
  t.match(both, /^HTTP\/1\.1 400 /, 'Content-Length with Transfer-Encoding (request smuggling): 400')
  t.same(await stored(), before, 'no row and no job')
})
