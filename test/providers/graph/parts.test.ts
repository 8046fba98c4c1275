import t from 'tap'
import { advanceGraphCursor } from '../../../src/providers/graph/delta.ts'
import { endpointsOf } from '../../../src/providers/graph/endpoints.ts'
import { classify, GraphRequestError } from '../../../src/providers/graph/errors.ts'
import { MailboxGate, retryAfterMs } from '../../../src/providers/graph/gate.ts'
import { ProviderAuthError } from '../../../src/providers/types.ts'

const app = { tenantId: 't', clientId: 'c', clientSecret: 's', user: 'u@example.com' }

t.test('national clouds: login and Graph hosts; overrides', async t => {
  t.match(endpointsOf(app), { authorityHost: 'https://login.microsoftonline.com', baseUrl: 'https://graph.microsoft.com', scope: 'https://graph.microsoft.com/.default', customAuthority: false })
  t.match(endpointsOf({ ...app, cloud: 'usgov' }), { authorityHost: 'https://login.microsoftonline.us', baseUrl: 'https://graph.microsoft.us', scope: 'https://graph.microsoft.us/.default' })
  t.match(endpointsOf({ ...app, cloud: 'usgov-dod' }), { authorityHost: 'https://login.microsoftonline.us', baseUrl: 'https://dod-graph.microsoft.us' })
  t.match(endpointsOf({ ...app, cloud: 'china' }), { authorityHost: 'https://login.chinacloudapi.cn', baseUrl: 'https://microsoftgraph.chinacloudapi.cn', scope: 'https://microsoftgraph.chinacloudapi.cn/.default' })
  t.match(endpointsOf({ ...app, cloud: 'china', authorityHost: 'https://localhost:8443/', baseUrl: 'https://localhost:8443' }),
    { authorityHost: 'https://localhost:8443', baseUrl: 'https://localhost:8443', scope: 'https://microsoftgraph.chinacloudapi.cn/.default', customAuthority: true })
})

t.test('Retry-After: seconds, fractions, an HTTP date, or 1 s', async t => {
  t.equal(retryAfterMs('2'), 2000)
  t.equal(retryAfterMs('0.5'), 500)
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 7_000), 3000)
  t.equal(retryAfterMs(null), 1000)
  t.equal(retryAfterMs('soon'), 1000)
})

t.test('the gate: at most 4 at once, first come first served; a pause holds everyone', async t => {
  const gate = new MailboxGate()
  let running = 0; let most = 0
  const order: number[] = []
  await Promise.all(Array.from({ length: 12 }, async (_, i) => await gate.run(async () => {
    running++; most = Math.max(most, running)
    order.push(i)
    await new Promise(resolve => setTimeout(resolve, 5))
    running--
  })))
  t.equal(most, 4)
  t.same(order, [...order].sort((a, b) => a - b), 'in arrival order')
  t.equal(gate.inFlight, 0)
  gate.pause(150)
  const started = Date.now()
  await gate.whenOpen()
  t.ok(Date.now() - started >= 140, 'waited out the pause')
})

t.test('the cursor moves to a listing\'s deltaLink only once all its refs are processed', async t => {
  const listed = { deltaLink: 'old', pending: { id: 'L1', deltaLink: 'new', remaining: 3 } }
  const half = advanceGraphCursor(listed, [{ key: 'a', listing: 'L1' }, { key: 'b', listing: 'L1' }])
  t.same(half, { deltaLink: 'old', pending: { id: 'L1', deltaLink: 'new', remaining: 1 } })
  t.same(advanceGraphCursor(half, [{ key: 'x', listing: 'L0' }]), half, 'refs of another listing change nothing')
  t.same(advanceGraphCursor(half, [{ key: 'c', listing: 'L1' }]), { deltaLink: 'new' })
  t.same(advanceGraphCursor({ deltaLink: 'd' }, [{ key: 'a', listing: 'L1' }]), { deltaLink: 'd' })
  t.equal(advanceGraphCursor(null, [{ key: 'a' }]), null)
})

t.test('errors: refused credentials and access are auth errors, the rest keep their status', async t => {
  t.type(classify({ statusCode: 401, code: 'InvalidAuthenticationToken', message: 'expired' }), ProviderAuthError)
  t.type(classify({ statusCode: 403, code: 'ErrorAccessDenied', message: 'denied' }), ProviderAuthError)
  t.type(classify({ statusCode: -1, code: 'AuthenticationRequiredError', message: 'invalid_client: AADSTS7000215' }), ProviderAuthError)
  const gone = classify({ statusCode: 410, code: 'syncStateNotFound', message: 'gone' })
  t.type(gone, GraphRequestError)
  t.match(gone, { status: 410, code: 'syncStateNotFound' })
  t.match(classify({ statusCode: -1, code: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED', message: 'connect refused' } }), { status: -1, message: /ECONNREFUSED/ })
})
