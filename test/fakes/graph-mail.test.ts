// Reading and changing mail through the fake with the real Graph client:
// listing, delta, raw MIME, mark read, move, delete, throttling faults.
import t from 'tap'
import { ResponseType } from '@microsoft/microsoft-graph-client'
import { startFakeGraph } from './graph/index.ts'
import { graphClientFor } from './graph/clients.ts'

const fake = await startFakeGraph()
t.teardown(() => fake.close())
const client = graphClientFor(fake)

let n = 0
const mime = (subject = `mail ${++n}`) => `Message-ID: <m${n}-${subject.length}@example.com>\r\nSubject: ${subject}\r\nFrom: "Sender" <sender@example.com>\r\n\r\nbody ${n}\r\n`

t.test('unread listing pages with absolute nextLinks; $select trims', async (t) => {
  const box = fake.addMailbox('list@contoso.example')
  for (let i = 0; i < 7; i++) box.addMessage('Inbox', mime())
  box.addMessage('Inbox', mime()) // then read it through the API below
  const first = await client.api(`/users/${box.upn}/mailFolders('Inbox')/messages`).filter('isRead eq false').top(3).select('id,internetMessageId,isRead').get()
  t.equal(first.value.length, 3)
  t.same(Object.keys(first.value[0]).sort(), ['@odata.etag', 'id', 'internetMessageId', 'isRead'])
  t.match(first['@odata.nextLink'], new RegExp(`^${fake.url}/v1.0/`))
  const seen = [...first.value]
  for (let link = first['@odata.nextLink']; link;) {
    const page = await client.api(link).get()
    seen.push(...page.value)
    link = page['@odata.nextLink']
  }
  t.equal(seen.length, 8)
  t.equal(new Set(seen.map((m) => m.id)).size, 8, 'no duplicates across pages')
  t.same(seen.map((m) => m.internetMessageId), box.messages('inbox').map((m) => m.internetMessageId).reverse(), 'newest first')
  const oldestFirst = await client.api(`/users/${box.id}/mailFolders/inbox/messages`).orderby('receivedDateTime asc').top(1).get()
  t.equal(oldestFirst.value[0].internetMessageId, box.messages('inbox')[0].internetMessageId)
  await client.api(`/users/${box.id}/messages/${seen[0].id}`).patch({ isRead: true })
  const unread = await client.api(`/users/${box.id}/mailFolders/inbox/messages`).filter('isRead eq false').top(100).get()
  t.equal(unread.value.length, 7)
  const read = await client.api(`/users/${box.id}/messages`).filter('isRead eq true').get()
  t.equal(read.value.length, 1)
  await t.rejects(client.api(`/users/${box.id}/mailFolders/inbox/messages`).filter('subject eq "x"').get(), { statusCode: 400, code: 'ErrorInvalidUrlQueryFilter' })
})

t.test('$value returns the raw 8-bit MIME bytes unchanged', async (t) => {
  const box = fake.addMailbox('raw@contoso.example')
  const raw = Buffer.concat([Buffer.from('Message-ID: <8bit@example.com>\r\nFrom: Ann <ann@example.com>\r\nSubject: =?utf-8?B?w6lsw6h2ZQ==?=\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), Buffer.from([0xe9, 0x00, 0xff, 0x80, 0x0d, 0x0a, 0xc3, 0x28])])
  const { id, internetMessageId } = box.addMessage('inbox', raw)
  t.equal(internetMessageId, '<8bit@example.com>')
  const bytes = await client.api(`/users/${box.id}/messages/${id}/$value`).responseType(ResponseType.ARRAYBUFFER).get()
  t.ok(Buffer.from(bytes).equals(raw), 'byte-identical')
  const json = await client.api(`/users/${box.id}/messages/${id}`).get()
  t.match(json, { id, internetMessageId, isRead: false, subject: 'élève', receivedDateTime: /Z$/, from: { emailAddress: { name: 'Ann', address: 'ann@example.com' } } })
  const generated = box.addMessage('inbox', 'Subject: no id\r\n\r\nx')
  t.match(generated.internetMessageId, /^<.+@.+>$/, 'Exchange assigns a Message-ID')
  await t.rejects(client.api(`/users/${box.id}/messages/AAMkAnope=/$value`).get(), { statusCode: 404, code: 'ErrorItemNotFound' })
})

t.test('mark read, move (with and without immutable ids), delete', async (t) => {
  const box = fake.addMailbox('ops@contoso.example')
  const processed = box.addFolder('Processed')
  const a = box.addMessage('inbox', mime())
  const b = box.addMessage('inbox', mime())
  const c = box.addMessage('inbox', mime())
  t.match(await client.api(`/users/${box.id}/messages/${a.id}`).patch({ isRead: true }), { id: a.id, isRead: true })
  t.equal(box.messages('inbox').find((m) => m.id === a.id)?.isRead, true)
  const kept = await client.api(`/users/${box.id}/messages/${a.id}/move`).header('Prefer', 'IdType="ImmutableId"').post({ destinationId: processed.id })
  t.equal(kept.id, a.id, 'immutable id survives the move')
  t.equal(kept.parentFolderId, processed.id)
  const renamed = await client.api(`/users/${box.id}/messages/${b.id}/move`).post({ destinationId: 'archive' })
  t.not(renamed.id, b.id, 'without ImmutableId a move gives a new id')
  t.same(box.messages('Archive').map((m) => m.internetMessageId), [b.internetMessageId])
  await client.api(`/users/${box.id}/mailFolders/inbox/messages/${c.id}`).delete()
  t.same(box.messages('inbox'), [], 'inbox empty')
  t.same(box.messages('Processed').map((m) => m.id), [a.id])
  t.equal(box.messages('deleteditems').length, 1, 'DELETE moves to Deleted Items')
  const trashed = box.messages('deleteditems')[0]
  await client.api(`/users/${box.id}/messages/${trashed.id}`).delete()
  t.equal(box.messages().length, 2, 'deleting from Deleted Items removes it')
  await t.rejects(client.api(`/users/${box.id}/messages/${a.id}/move`).post({ destinationId: 'nope' }), { statusCode: 404, code: 'ErrorItemNotFound' })
  await t.rejects(client.api(`/users/${box.id}/messages/${a.id}`).patch({ isRead: 'yes' }), { statusCode: 400, code: 'BadRequest' })
  await t.rejects(client.api(`/users/${box.id}/messages/${a.id}`).put({}), { statusCode: 405, message: /./ })
  await client.api(`/users/${box.id}/messages/${a.id}/permanentDelete`).post({})
  t.equal(box.messages().length, 1)
})

t.test('folders: list, by id, by well-known name; unknown users and folders', async (t) => {
  const box = fake.addMailbox('folders@contoso.example')
  box.addMessage('inbox', mime())
  const folders = await client.api(`/users/${box.upn}/mailFolders`).get()
  t.same(folders.value.map((f: any) => f.displayName).sort(), ['Archive', 'Deleted Items', 'Inbox'])
  const inbox = folders.value.find((f: any) => f.displayName === 'Inbox')
  t.match(await client.api(`/users/${box.id}/mailFolders/${inbox.id}`).get(), { id: inbox.id, totalItemCount: 1, unreadItemCount: 1 })
  t.match(await client.api(`/users/${box.id}/mailFolders/INBOX`).get(), { id: inbox.id })
  await t.rejects(client.api('/users/nobody@contoso.example/mailFolders').get(), { statusCode: 404, code: 'ErrorInvalidUser' })
  await t.rejects(client.api(`/users/${box.id}/mailFolders/nope/messages`).get(), { statusCode: 404, code: 'ErrorItemNotFound' })
  await t.rejects(client.api('/me/mailFolders').get(), { statusCode: 400, message: /./ }, '/me needs a delegated token')
  await t.rejects(client.api(`/users/${box.id}/calendar`).get(), { statusCode: 400, message: /./ })
  await t.rejects(client.api('/groups').get(), { statusCode: 400, message: /./ })
  fake.denyAccess(box.id)
  await t.rejects(client.api(`/users/${box.id}/mailFolders`).get(), { statusCode: 403, code: 'ErrorAccessDenied' })
  t.equal(fake.folders(box.id).length, 3)
})

t.test('delta: pages, deltaLink with only new + removed, expiry answers 410 syncStateNotFound', async (t) => {
  const box = fake.addMailbox('delta@contoso.example')
  for (let i = 0; i < 5; i++) box.addMessage('inbox', mime())
  const round = async (start: string) => {
    const items: any[] = []
    let res = await client.api(start).header('Prefer', 'odata.maxpagesize=2').get()
    let pages = 1
    items.push(...res.value)
    while (res['@odata.nextLink']) {
      res = await client.api(res['@odata.nextLink']).header('Prefer', 'odata.maxpagesize=2').get()
      items.push(...res.value)
      pages++
    }
    return { items, pages, deltaLink: res['@odata.deltaLink'] as string }
  }
  const first = await round(`/users/${box.id}/mailFolders/inbox/messages/delta?$select=internetMessageId,isRead`)
  t.equal(first.items.length, 5)
  t.equal(first.pages, 3, 'maxpagesize=2 honoured')
  t.match(first.deltaLink, new RegExp(`^${fake.url}/v1.0/.*\\$deltatoken=`))

  const newer = box.addMessage('inbox', mime())
  const gone = box.messages('inbox')[0]
  await client.api(`/users/${box.id}/messages/${box.messages('inbox')[1].id}`).patch({ isRead: true }) // an update: not reported by default
  fake.removeMessage(box.id, gone.id)
  const second = await round(first.deltaLink)
  t.same(second.items.map((i) => i.id ?? i['@removed']).sort(), [newer.id, gone.id].sort())
  t.same(second.items.find((i) => i.id === gone.id), { '@odata.type': '#microsoft.graph.message', id: gone.id, '@removed': { reason: 'deleted' } })
  const quiet = await round(second.deltaLink)
  t.same(quiet.items, [], 'nothing new')
  const replay = await round(first.deltaLink)
  t.equal(replay.items.length, 2, 'an old deltaLink can be replayed')

  fake.expireDeltaTokens()
  await t.rejects(client.api(second.deltaLink).get(), { statusCode: 410, code: 'syncStateNotFound' })
  const again = await round(`/users/${box.id}/mailFolders/inbox/messages/delta`)
  t.equal(again.items.length, 5, 'a fresh full sync works')
  await t.rejects(client.api(`/users/${box.id}/mailFolders/inbox/messages/delta`).filter('isRead eq false').get(), { statusCode: 400, message: /./ })
  const filtered = await client.api(`/users/${box.id}/mailFolders/inbox/messages/delta`).filter(`receivedDateTime ge ${new Date(Date.now() + 60_000).toISOString()}`).get()
  t.same(filtered.value, [])
})

t.test('delta with deltaReportsUpdates and changeType=created', async (t) => {
  const realistic = await startFakeGraph({ deltaReportsUpdates: true, deltaPageSize: 50 })
  t.teardown(() => realistic.close())
  const c = graphClientFor(realistic)
  const box = realistic.addMailbox('real@contoso.example')
  const m = box.addMessage('inbox', mime())
  const all = await c.api(`/users/${box.id}/mailFolders/inbox/messages/delta`).get()
  const created = await c.api(`/users/${box.id}/mailFolders/inbox/messages/delta?changeType=created`).get()
  await c.api(`/users/${box.id}/messages/${m.id}`).patch({ isRead: true })
  t.same((await c.api(all['@odata.deltaLink']).get()).value.map((i: any) => i.isRead), [true], 'the update shows up')
  t.same((await c.api(created['@odata.deltaLink']).get()).value, [], 'changeType=created ignores it')
})

t.test('429 with Retry-After is retried by the SDK; 503 too; delays hold requests in flight', async (t) => {
  const box = fake.addMailbox('throttle@contoso.example')
  fake.resetStats()
  const throttle = fake.faults.throttle(2, 0.2, { path: `/users/${box.id}/` })
  const started = Date.now()
  const res = await client.api(`/users/${box.id}/mailFolders/inbox/messages`).get()
  t.same(res.value, [])
  t.ok(Date.now() - started >= 400, 'waited Retry-After twice')
  t.equal(throttle.hits, 2)
  t.same(fake.requests.filter((r) => r.mailbox === box.id).map((r) => r.status), [429, 429, 200])

  const raw = fake.faults.throttle(1, 7)
  const direct = await fetch(`${fake.url}/v1.0/users/${box.id}`)
  t.equal(direct.status, 429)
  t.equal(direct.headers.get('retry-after'), '7')
  t.match(await direct.json(), { error: { code: 'TooManyRequests' } })
  t.equal(raw.remaining, 0)

  fake.faults.inject({ status: 503, retryAfterSeconds: 0.05, method: 'GET' })
  t.ok(await client.api(`/users/${box.id}`).get(), '503 retried')
  fake.faults.unavailable(1, { path: /\/users\/[^/]+$/ })
  fake.faults.inject({ status: 500, path: 'zzz-never' })
  t.equal((await fetch(`${fake.url}/v1.0/users/${box.id}`)).status, 503)
  fake.faults.clear()

  fake.resetStats()
  fake.faults.delay(150, 6, { path: `/users/${box.id}` })
  await Promise.all(Array.from({ length: 6 }, () => client.api(`/users/${box.id}`).get()))
  t.equal(fake.maxConcurrent(box.id), 6, 'all six were in flight together')
  t.equal(fake.maxConcurrentPerMailbox, 6)
})
