// Signing in to the admin pages in a real browser: wrong then right token,
// the session cookie's flags, redirects without a session, sign-out, the
// CSRF refusal and the rate limit on failed attempts.
import t from 'tap'
import { startTestRuntime } from '../helpers/runtime.ts'
import { startBrowser } from '../helpers/browser.ts'
import { signInForm } from '../helpers/pages.ts'

const rt = await startTestRuntime(t, { role: 'web' })
const chrome = await startBrowser(t)

t.test('wrong token: the page again with an error (401); right token: a session and the mailboxes', async t => {
  const page = await chrome.page()
  const first = await page.goto(`${rt.address}/admin`)
  t.equal(first?.status(), 200)
  await page.getByLabel('Admin token').fill('not-the-admin-token-at-all')
  const [refused] = await Promise.all([page.waitForResponse(r => r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()])
  t.equal(refused.status(), 401)
  t.match(await page.getByRole('alert').textContent(), /not the admin token/)
  t.same((await page.context().cookies()).filter(c => c.name === 'mailslot_admin'), [], 'no session cookie')

  await page.getByLabel('Admin token').fill(rt.token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL('**/admin/mailboxes')
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Mailboxes')
  const [session] = (await page.context().cookies()).filter(c => c.name === 'mailslot_admin')
  t.match(session, { httpOnly: true, sameSite: 'Strict', secure: false, path: '/admin' }, 'HttpOnly, SameSite=Strict; not Secure over http')
  t.notMatch(session.value, rt.token, 'the cookie does not carry the token')
  t.ok(session.expires > Date.now() / 1000 + 3600, 'it expires, hours from now')

  // signed in, /admin goes on to the mailboxes; sign out ends it
  await page.goto(`${rt.address}/admin`)
  t.match(page.url(), /\/admin\/mailboxes$/)
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL(/\/admin$/)
  await page.goto(`${rt.address}/admin/mailboxes`)
  t.match(page.url(), /\/admin$/, 'signed out: back to the sign-in page')
  t.same(page.scriptErrors, [])
})

t.test('without a session every admin page redirects to /admin', async t => {
  for (const path of ['/admin/mailboxes', '/admin/mailboxes/anything', '/admin/mailboxes/x/emails/1/replay']) {
    const res = await fetch(rt.address + path, { method: path.endsWith('replay') ? 'POST' : 'GET', redirect: 'manual' })
    t.equal(res.status, 303, path)
    t.equal(res.headers.get('location'), '/admin', path)
  }
  // a forged or expired cookie is no session
  const forged = await fetch(`${rt.address}/admin/mailboxes`, { redirect: 'manual', headers: { cookie: 'mailslot_admin=9999999999.abc.def' } })
  t.equal(forged.status, 303)
})

t.test('a form POST without a valid CSRF token is refused with a 403 page', async t => {
  const page = await chrome.page()
  await page.goto(`${rt.address}/admin`)
  const cookie = (await page.context().cookies()).map(c => `${c.name}=${c.value}`).join('; ')
  const form = (fields: Record<string, string>): RequestInit => ({
    method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString()
  })
  for (const fields of [{ token: rt.token }, { token: rt.token, _csrf: 'forged-token' }] as Array<Record<string, string>>) {
    const res = await fetch(`${rt.address}/admin`, form(fields))
    t.equal(res.status, 403)
    t.match(res.headers.get('content-type'), /text\/html/)
    t.match(await res.text(), /This form has expired or did not come from this site/)
  }
  // without the CSRF cookie, even a token taken from a page is refused
  const csrf = await page.locator('input[name=_csrf]').first().inputValue()
  const noCookie = await fetch(`${rt.address}/admin`, { ...form({ token: rt.token, _csrf: csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(noCookie.status, 403)
  // and with both it works
  const ok = await fetch(`${rt.address}/admin`, form({ token: rt.token, _csrf: csrf }))
  t.equal(ok.status, 303)
  t.equal(ok.headers.get('location'), '/admin/mailboxes')
})

t.test('failed sign-ins are rate limited like the API (30 a minute); a right token is never counted or refused', async t => {
  const own = await startTestRuntime(t, { role: 'web' })
  const post = await signInForm(String(own.address))
  for (let i = 0; i < 30; i++) t.equal((await post(`wrong-token-${i}-xxxxxxxx`)).status, 401)
  const limited = await post('wrong-token-again-xxxxxxx')
  t.equal(limited.status, 429)
  t.match(limited.headers.get('content-type'), /text\/html/)
  t.match(await limited.text(), /Too many failed sign-ins/)
  t.equal((await post(own.token)).status, 303, 'the right token still signs in')
})

t.test('behind an https MAILSLOT_PUBLIC_URL the cookies are Secure', async t => {
  const own = await startTestRuntime(t, { role: 'web', env: { MAILSLOT_PUBLIC_URL: 'https://mailslot.example.com' } })
  const res = await (await signInForm(String(own.address)))(own.token)
  t.equal(res.status, 303)
  const [session] = res.headers.getSetCookie().filter(c => c.startsWith('mailslot_admin='))
  t.match(session, /; Secure/)
  t.match(session, /; HttpOnly/)
  t.match(session, /; SameSite=Strict/)
  const page = await fetch(`${own.address}/admin`)
  t.match(page.headers.getSetCookie().join('\n'), /_csrf=.*; Secure/, 'the CSRF cookie too')
})
