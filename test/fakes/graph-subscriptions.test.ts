// Subscriptions through the real Graph client against the fake, with a real
// local subscriber: handshake, change notifications, lifecycle events.
import t from 'tap'
import { startFakeGraph } from './graph/index.ts'
import { graphClientFor } from './graph/clients.ts'
import { echoValidation, startReceiver } from './graph/receiver.ts'

const fake = await startFakeGraph({ notificationRetryDelaysMs: [20, 20] })
t.teardown(() => fake.close())
const client = graphClientFor(fake)
const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString()

const receiver = await startReceiver()
t.teardown(() => receiver.close())
t.beforeEach(() => { receiver.received.length = 0; receiver.answer = echoValidation })

const subscribe = (resource: string, extra: object = {}) => client.api('/subscriptions').post({
  changeType: 'created', notificationUrl: `${receiver.url}/graph/notifications`, lifecycleNotificationUrl: `${receiver.url}/graph/lifecycle`,
  resource, expirationDateTime: inMinutes(600), clientState: 'secret-state', ...extra,
})

t.test('create runs the validation handshake on both URLs', async (t) => {
  const box = fake.addMailbox('hs@contoso.example')
  const sub = await subscribe(`users/${box.upn}/mailFolders('Inbox')/messages`)
  t.match(sub, { id: String, resource: `users/${box.upn}/mailFolders('Inbox')/messages`, changeType: 'created', clientState: 'secret-state', applicationId: fake.clientId })
  const validations = receiver.received.filter((r) => r.query.has('validationToken'))
  t.same(validations.map((r) => r.path), ['/graph/notifications', '/graph/lifecycle'])
  for (const v of validations) {
    t.equal(v.body, '', 'empty body')
    t.match(v.contentType, /^text\/plain/)
    t.match(v.query.get('validationToken'), /^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/)
  }
  t.equal(fake.deliveries.filter((d) => d.kind === 'validation').at(-1)?.status, 200)
  t.same(fake.subscriptions().map((s) => s.id).filter((id) => id === sub.id), [sub.id])
})

t.test('a subscriber that answers wrongly or slowly fails the create', async (t) => {
  const box = fake.addMailbox('bad@contoso.example')
  const resource = `users/${box.id}/mailFolders/inbox/messages`
  receiver.answer = (req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(encodeURIComponent(req.query.get('validationToken') ?? '')) }
  await t.rejects(subscribe(resource), { statusCode: 400, code: 'ValidationError', message: /Subscription validation request failed/ }, 'token not decoded')
  receiver.answer = (req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(req.query.get('validationToken')) }
  await t.rejects(subscribe(resource), { statusCode: 400, code: 'ValidationError' }, 'wrong content type')
  receiver.answer = (_req, res) => { res.writeHead(500); res.end() }
  await t.rejects(subscribe(resource), { statusCode: 400, code: 'ValidationError' }, 'not 200')
  await t.rejects(subscribe(resource, { notificationUrl: 'http://127.0.0.1:1/closed' }), { statusCode: 400, code: 'ValidationError' }, 'unreachable')
  t.equal(fake.subscriptions().filter((s) => s.resource === resource).length, 0)

  const impatient = await startFakeGraph({ handshakeTimeoutMs: 150 })
  t.teardown(() => impatient.close())
  impatient.addMailbox(box.upn)
  receiver.answer = () => { /* never answers */ }
  await t.rejects(graphClientFor(impatient).api('/subscriptions').post({ changeType: 'created', notificationUrl: receiver.url, resource: `users/${box.upn}/messages`, expirationDateTime: inMinutes(60) }),
    { statusCode: 400, code: 'InvalidRequest', message: /timeout/ })
})

t.test('create validates its body', async (t) => {
  const box = fake.addMailbox('body@contoso.example')
  const resource = `users/${box.id}/messages`
  const rejects = (extra: object, code: string, what: string) => t.rejects(subscribe(resource, extra), { statusCode: 400, code }, what)
  await rejects({ expirationDateTime: inMinutes(10081) }, 'ExtensionError', 'beyond the max lifetime')
  await rejects({ expirationDateTime: inMinutes(-1) }, 'InvalidRequest', 'in the past')
  await rejects({ expirationDateTime: 'soon' }, 'InvalidRequest', 'not a date')
  await rejects({ clientState: 'x'.repeat(129) }, 'InvalidRequest', 'clientState too long')
  await rejects({ notificationUrl: 'http://example.com/hook' }, 'ValidationError', 'plain http to a remote host')
  await rejects({ notificationUrl: undefined }, 'InvalidRequest', 'no notificationUrl')
  await rejects({ changeType: 'created,exploded' }, 'InvalidRequest', 'bad changeType')
  await rejects({ resource: `users/${box.id}/events` }, 'InvalidRequest', 'not a mail resource')
  await t.rejects(subscribe(resource, { resource: `users/${box.id}/mailFolders('Nope')/messages` }), { statusCode: 404, code: 'ExtensionError' }, 'unknown folder')
  await rejects({ includeResourceData: true }, 'InvalidRequest', 'rich notifications unsupported')
  await rejects({ resource: 'me/messages' }, 'BadRequest', '/me with an app-only token')
  await t.rejects(subscribe('users/ghost@contoso.example/messages'), { statusCode: 404, message: /./ })
  await t.rejects(client.api('/subscriptions').post(''), { statusCode: 400, message: /./ })
  const short = await subscribe(resource, { expirationDateTime: inMinutes(5), clientState: undefined })
  t.ok(Date.parse(short.expirationDateTime) >= Date.now() + 44 * 60_000, 'raised to 45 minutes, as Graph does')
  t.equal(short.clientState, null)
})

t.test('new mail is notified in batches, with clientState and Graph item shape; failures are retried', async (t) => {
  const box = fake.addMailbox('notify@contoso.example')
  const other = box.addFolder('Other')
  const sub = await subscribe(`/users/${box.id}/mailFolders/inbox/messages`)
  receiver.received.length = 0
  let failures = 1
  receiver.answer = (req, res) => { res.writeHead(failures-- > 0 ? 503 : 202); res.end() }
  const added = [1, 2, 3].map((i) => box.addMessage('inbox', `Message-ID: <n${i}@x>\r\n\r\n.`))
  box.addMessage(other.id, 'Message-ID: <elsewhere@x>\r\n\r\n.')
  await fake.notificationsSettled()
  t.same(receiver.received.map((r) => r.json.value.length), [3, 3], 'one POST of three items, retried once after a 503')
  const [item] = receiver.received[1].json.value
  t.same(item, {
    id: item.id, subscriptionId: sub.id, subscriptionExpirationDateTime: sub.expirationDateTime, clientState: 'secret-state', changeType: 'created',
    tenantId: fake.tenantId, resource: `Users/${box.id}/Messages/${added[0].id}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': `Users/${box.id}/Messages/${added[0].id}`, '@odata.etag': item.resourceData['@odata.etag'], id: added[0].id },
  })
  t.match(item.resourceData['@odata.etag'], /^W\/".+"$/)
  t.same(fake.deliveries.filter((d) => d.kind === 'change').map((d) => [d.attempt, d.status]).slice(-2), [[1, 503], [2, 202]])

  receiver.received.length = 0
  for (let i = 0; i < 150; i++) box.addMessage('inbox', `Subject: bulk ${i}\r\n\r\n.`)
  await fake.notificationsSettled()
  t.same(receiver.received.map((r) => r.json.value.length), [100, 50], 'at most 100 items per POST')

  receiver.received.length = 0
  receiver.answer = (_req, res) => { res.writeHead(500); res.end() }
  box.addMessage('inbox', 'Subject: lost\r\n\r\n.')
  await fake.notificationsSettled()
  t.equal(receiver.received.length, 3, 'gives up after the configured retries')
})

t.test('changeType created,updated,deleted on all folders', async (t) => {
  const box = fake.addMailbox('changes@contoso.example')
  const sub = await subscribe(`users/${box.id}/messages`, { changeType: 'created,updated,deleted' })
  const m = box.addMessage('archive', 'Subject: a\r\n\r\n.')
  await client.api(`/users/${box.id}/messages/${m.id}`).patch({ isRead: true })
  await client.api(`/users/${box.id}/messages/${m.id}/permanentDelete`).post({})
  await fake.notificationsSettled()
  const items = receiver.received.filter((r) => r.json).flatMap((r) => r.json.value).filter((i: any) => i.subscriptionId === sub.id)
  t.same(items.map((i: any) => i.changeType), ['created', 'updated', 'deleted'])
})

t.test('lifecycle events, renew, reauthorize, delete', async (t) => {
  const box = fake.addMailbox('life@contoso.example')
  const sub = await subscribe(`users/${box.id}/mailFolders('inbox')/messages`)
  t.ok(await fake.sendLifecycle(sub.id, 'reauthorizationRequired'))
  const [event] = receiver.received.filter((r) => r.path === '/graph/lifecycle' && r.json).at(-1)!.json.value
  t.same(event, { subscriptionId: sub.id, subscriptionExpirationDateTime: sub.expirationDateTime, tenantId: fake.tenantId, clientState: 'secret-state', lifecycleEvent: 'reauthorizationRequired' })
  await client.api(`/subscriptions/${sub.id}/reauthorize`).post({})
  t.equal(fake.subscriptions().find((s) => s.id === sub.id)?.reauthorizedCount, 1)
  const renewed = await client.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: inMinutes(10000) })
  t.ok(Date.parse(renewed.expirationDateTime) > Date.parse(sub.expirationDateTime))
  await t.rejects(client.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: inMinutes(20000) }), { statusCode: 400, message: /./ })
  t.match(await client.api(`/subscriptions/${sub.id}`).get(), { id: sub.id, expirationDateTime: renewed.expirationDateTime })
  t.ok((await client.api('/subscriptions').get()).value.some((s: any) => s.id === sub.id))
  t.ok(await fake.sendLifecycle(sub.id, 'missed'))
  t.ok(await fake.sendLifecycle(sub.id, 'subscriptionRemoved'))
  t.equal(fake.subscriptions().some((s) => s.id === sub.id), false, 'subscriptionRemoved deletes it')
  await t.rejects(client.api(`/subscriptions/${sub.id}`).get(), { statusCode: 404, message: /./ })
  t.same(receiver.received.filter((r) => r.path === '/graph/lifecycle' && r.json).map((r) => r.json.value[0].lifecycleEvent), ['reauthorizationRequired', 'missed', 'subscriptionRemoved'])
  t.throws(() => fake.sendLifecycle(sub.id, 'missed'), /no subscription/)

  const plain = await subscribe(`users/${box.id}/messages`, { lifecycleNotificationUrl: undefined })
  t.throws(() => fake.sendLifecycle(plain.id, 'missed'), /no lifecycleNotificationUrl/)
  await client.api(`/subscriptions/${plain.id}`).delete()
  await t.rejects(client.api(`/subscriptions/${plain.id}/reauthorize`).post({}), { statusCode: 404, message: /./ })
})

t.test('expired subscriptions deliver nothing and disappear', async (t) => {
  const brief = await startFakeGraph({ minSubscriptionMinutes: 0 })
  t.teardown(() => brief.close())
  const box = brief.addMailbox('brief@contoso.example')
  const sub = await graphClientFor(brief).api('/subscriptions').post({ changeType: 'created', notificationUrl: receiver.url, resource: `users/${box.id}/messages`, expirationDateTime: new Date(Date.now() + 300).toISOString() })
  await new Promise((resolve) => setTimeout(resolve, 350))
  receiver.received.length = 0
  box.addMessage('inbox', 'Subject: late\r\n\r\n.')
  await brief.notificationsSettled()
  t.same(receiver.received, [])
  t.same(brief.subscriptions().filter((s) => s.id === sub.id), [])
})
