// The whole loop from a real IMAP mailbox: issue, reply, Service Desk,
// auto-reply, replays.
import t from 'tap'
import { makeEmail } from '../../helpers/emails.ts'
import { waitFor } from '../../helpers/wait.ts'
import { imapFixture, imapMailbox } from '../../ingestion/imap-fixture.ts'

t.test('issue, reply, Service Desk and auto-reply through Dovecot; replays change nothing', async t => {
  const { imap, rt } = await imapFixture(t)
  const u = imap.addUser()
  const spec = imapMailbox(imap, u, { address: 'incoming+%{key}@mail.example.com' })
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  const created = await rt.api('POST', '/api/v1/projects', { path: 'acme/widgets', serviceDesk: true })
  t.equal(created.status, 201, created.text)
  const project = created.body
  t.match(project.addresses.issue, new RegExp(`^incoming\\+acme-widgets-${project.id as number}-${project.incomingEmailToken as string}-issue@mail\\.example\\.com$`))
  t.equal(project.addresses.serviceDesk, `incoming+acme-widgets-${project.id as number}-issue-@mail.example.com`)

  const poll = async (): Promise<void> => { await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`) }
  const emails = async (): Promise<any[]> => (await rt.api('GET', `/api/v1/emails?mailbox=${spec.name as string}`)).body.items
  const settled = async (n: number): Promise<any[]> => await waitFor(async () => {
    const items = await emails()
    return items.length === n && items.every(e => ['delivered', 'rejected', 'failed'].includes(e.status)) ? items : undefined
  }, `${n} emails handled`)
  const issues = async (): Promise<any[]> => (await rt.api('GET', `/api/v1/projects/${project.id as number}/issues`)).body.items

  await imap.append(u.user, 'INBOX', makeEmail(1, { to: project.addresses.issue, subject: 'Widget broken', body: 'It does not turn.\r\n' }))
  await imap.append(u.user, 'INBOX', makeEmail(2, { to: project.addresses.serviceDesk, from: 'Customer <customer@outside.example>', subject: 'Help please', body: 'My widget is stuck.\r\n' }))
  await imap.append(u.user, 'INBOX', makeEmail(3, { to: project.addresses.issue, subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } }))
  await poll()
  await settled(3)
  let list = await issues()
  t.equal(list.length, 2)
  const issue = list.find(i => !i.serviceDesk)
  const desk = list.find(i => i.serviceDesk)
  t.equal(issue.title, 'Widget broken')
  t.match(issue.description, 'It does not turn.')
  t.equal(desk.title, 'Help please')
  t.equal(desk.author, 'customer@outside.example')
  t.equal(issue.replyAddress, `incoming+${issue.replyKey as string}@mail.example.com`)
  const auto = (await emails()).find(e => e.subject === 'Out of office')
  t.equal(auto.status, 'rejected')
  t.equal(auto.reason, 'auto_generated')

  // a reply to the issue's reply address becomes a note, without the quote
  await imap.append(u.user, 'INBOX', makeEmail(4, { to: issue.replyAddress, subject: 'Re: Widget broken', body: 'Fixed by oiling it.\r\n\r\nOn Mon, 1 Nov 2026, Someone wrote:\r\n> It does not turn.\r\n' }))
  await poll()
  const all = await settled(4)
  list = await issues()
  const notes = list.find(i => i.id === issue.id).notes
  t.equal(notes.length, 1)
  t.match(notes[0].body, 'Fixed by oiling it.')
  t.notMatch(notes[0].body, 'It does not turn.')

  // replaying every email changes nothing
  for (const e of all) t.equal((await rt.api('POST', `/api/v1/emails/${e.id as number}/replay`)).status, 202)
  await waitFor(async () => (await emails()).every(e => e.attempts === 1 && e.status !== 'received' && e.status !== 'processing'), 'replays handled')
  const after = await issues()
  t.equal(after.length, 2, 'no new issue')
  t.equal(after.find(i => i.id === issue.id).notes.length, 1, 'no new note')
  t.same((await emails()).map(e => `${e.status}:${e.reason ?? ''}:${e.handler ?? ''}`).sort(), all.map(e => `${e.status}:${e.reason ?? ''}:${e.handler ?? ''}`).sort())
})

t.test('a custom Service Desk mailbox bound to a project; Service Desk off; projects API errors', async t => {
  const { imap, rt } = await imapFixture(t)
  const on = (await rt.api('POST', '/api/v1/projects', { path: 'shop/front', serviceDesk: true, customEmail: 'support@shop.example' })).body
  const off = (await rt.api('POST', '/api/v1/projects', { path: 'shop/back', address: 'incoming+%{key}@mail.example.com' })).body
  t.equal(off.addresses.serviceDesk, null)
  const u = imap.addUser()
  const spec = imapMailbox(imap, u, { address: undefined, serviceDeskProjectId: on.id })
  delete spec.address
  t.equal((await rt.api('POST', '/api/v1/mailboxes', spec)).status, 201)
  await imap.append(u.user, 'INBOX', makeEmail(1, { to: 'support@shop.example', subject: 'Where is my order?' }))
  await imap.append(u.user, 'INBOX', makeEmail(2, { to: 'whatever@forwarded.example', subject: 'Forwarded in' }))
  await rt.api('POST', `/api/v1/mailboxes/${spec.name as string}/poll`)
  await waitFor(async () => (await rt.api('GET', `/api/v1/projects/${on.id as number}/issues`)).body.items.length === 2, 'two Service Desk issues')

  const dup = await rt.api('POST', '/api/v1/projects', { path: 'shop/front' })
  t.equal(dup.status, 409)
  t.equal(dup.body.error.code, 'project_exists')
  const bad = await rt.api('POST', '/api/v1/projects', { path: 'no-slash' })
  t.equal(bad.status, 400)
  t.equal(bad.body.error.code, 'invalid_path')
  t.equal((await rt.api('GET', '/api/v1/projects/999/issues')).status, 404)

  // Service Desk off: rejected with its reason
  const v = imap.addUser()
  const spec2 = imapMailbox(imap, v, { address: 'incoming+%{key}@mail.example.com' })
  await rt.api('POST', '/api/v1/mailboxes', spec2)
  await imap.append(v.user, 'INBOX', makeEmail(3, { to: `incoming+shop-back-${off.id as number}-issue-@mail.example.com` }))
  await rt.api('POST', `/api/v1/mailboxes/${spec2.name as string}/poll`)
  const e = await waitFor(async () => (await rt.api('GET', `/api/v1/emails?mailbox=${spec2.name as string}&status=rejected`)).body.items[0], 'rejected')
  t.equal(e.reason, 'service_desk_disabled')
})
