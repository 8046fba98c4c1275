/**
 * Makes docs/images/dashboard.png, the README's picture of /admin/mailboxes:
 * a web-only runtime (nothing polls) with mailboxes staged in each health
 * state, emails waiting, a Graph subscription, photographed by Chromium.
 * Run: npx tap --disable-coverage scripts/screenshot-dashboard.ts
 */
import t from 'tap'
import path from 'node:path'
import { mkdir } from 'node:fs/promises'
import { startTestRuntime } from '../test/helpers/runtime.ts'
import { signIn, startBrowser } from '../test/helpers/browser.ts'
import { makeEmail } from '../test/helpers/emails.ts'
import { storeFetched } from '../src/inbound/store.ts'
import { createStatusLink } from '../src/status-links/repository.ts'
import { createApp, getApp } from '../src/oauth/apps/repository.ts'
import { saveConnection } from '../src/oauth/connections/repository.ts'

const OUT = path.join(import.meta.dirname, '..', 'docs', 'images', 'dashboard.png')
const rt = await startTestRuntime(t, { role: 'web' })
const chrome = await startBrowser(t)

const imap = (name: string, host: string) => ({ name, provider: 'imap', imap: { host, user: `${name}@example.com`, password: 'staged-password-1' } })
const graph = (name: string, mode: string) => ({
  name, provider: 'graph', mode, graph: { tenantId: 'contoso.onmicrosoft.com', clientId: 'app', clientSecret: 'staged-secret-1', user: `${name}@contoso.com` }
})
const staged: Array<{ spec: Record<string, unknown>, state: string, successMinutesAgo: number | null, error: string | null }> = [
  { spec: imap('support', 'imap.acme.example'), state: 'ok', successMinutesAgo: 1, error: null },
  { spec: graph('helpdesk', 'webhook'), state: 'ok', successMinutesAgo: 4, error: null },
  { spec: graph('sales', 'poll'), state: 'failing', successMinutesAgo: 135, error: 'connect ETIMEDOUT 20.190.160.1:443 (graph.microsoft.com)' },
  { spec: imap('billing', 'imap.initech.example'), state: 'auth_failed', successMinutesAgo: 60 * 26, error: 'IMAP login refused: [AUTHENTICATIONFAILED] Authentication failed.' },
  { spec: imap('customer-umbrella', 'outlook.office365.com'), state: 'reauth_required', successMinutesAgo: 60 * 50, error: 'the refresh token was refused (invalid_grant): the account must be reconnected' },
  { spec: imap('new-hire', 'imap.hooli.example'), state: 'pending', successMinutesAgo: null, error: null },
  { spec: imap('customer-globex', 'outlook.office365.com'), state: 'ok', successMinutesAgo: 2, error: null }
]
/** Mailboxes a customer connected through a connect link, and the state of their grant. */
const connected: Record<string, 'connected' | 'reauth_required'> = { 'customer-umbrella': 'reauth_required', 'customer-globex': 'connected' }
await createApp(rt.ctx.pool, rt.ctx.keyring, { name: 'm365', kind: 'microsoft', access: 'imap', clientId: 'staged-client', clientSecret: 'staged-secret-2' })
const app = await getApp(rt.ctx.pool, rt.ctx.keyring, 'm365')
if (app === null) throw new Error('the staged app was not saved')
const ids = new Map<string, number>()
for (const s of staged) {
  const res = await rt.api('POST', '/api/v1/mailboxes', s.spec)
  if (res.status !== 201) throw new Error(res.text)
  ids.set(s.spec.name as string, res.body.id)
  await rt.ctx.pool.query(
    `UPDATE mailboxes SET health_state = $2, last_error = $3, last_poll_at = now() - interval '1 minute',
       last_success_at = now() - make_interval(mins => $4), consecutive_failures = CASE WHEN $3::text IS NULL THEN 0 ELSE 3 END WHERE id = $1`,
    [res.body.id, s.state, s.error, s.successMinutesAgo])
  if (s.successMinutesAgo === null) await rt.ctx.pool.query('UPDATE mailboxes SET last_success_at = NULL, last_poll_at = NULL WHERE id = $1', [res.body.id])
  if (s.spec.name === 'helpdesk') {
    await rt.ctx.pool.query(`INSERT INTO graph_subscriptions (mailbox_id, subscription_id, expires_at, state)
      VALUES ($1, 'b1d3e0a2-staged', now() + interval '2 days 5 hours', 'active')`, [res.body.id])
  }
  const grant = connected[s.spec.name as string]
  if (grant !== undefined) {
    const account = (s.spec.imap as { user: string }).user
    await saveConnection(rt.ctx.pool, rt.ctx.keyring, {
      mailboxId: res.body.id,
      appId: app.id,
      account: { account, subject: `staged-${account}`, tenantId: 'contoso.onmicrosoft.com' },
      tokens: { accessToken: 'staged-access', refreshToken: 'staged-refresh', expiresAt: new Date(Date.now() + 3600_000) }
    })
    await rt.ctx.pool.query('UPDATE oauth_connections SET state = $2 WHERE mailbox_id = $1', [res.body.id, grant])
  }
  const waiting = { support: 3, helpdesk: 1, sales: 12 }[s.spec.name as string] ?? 0
  const fetched = Array.from({ length: waiting }, (_, i) => ({ ref: { key: `staged-${i}` }, raw: makeEmail(i), complete: true as const }))
  await storeFetched(rt.ctx, { id: res.body.id, name: s.spec.name as string }, fetched)
}

const page = await chrome.page()
await page.setViewportSize({ width: 1366, height: 768 })
await signIn(page, String(rt.address), rt.token)
await mkdir(path.dirname(OUT), { recursive: true })
await page.screenshot({ path: OUT, fullPage: true })
// SCREENSHOT_MORE=dir: the mailbox page and the status page too, to look at while working on them
const more = process.env.SCREENSHOT_MORE
if (more !== undefined) {
  await page.goto(`${rt.address}/admin/mailboxes/support`)
  await page.screenshot({ path: path.join(more, 'mailbox.png'), fullPage: true })
  const { token } = await createStatusLink(rt.ctx.pool, ids.get('sales') as number, 30)
  await page.goto(`${rt.address}/status/${token}`)
  await page.screenshot({ path: path.join(more, 'status.png'), fullPage: true })
  const visitor = await chrome.page()
  await visitor.goto(`${rt.address}/admin`)
  await visitor.screenshot({ path: path.join(more, 'sign-in.png') })
}
t.pass(`wrote ${OUT}`)
