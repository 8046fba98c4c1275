/**
 * Connect-link tests: the fake identity platform (Microsoft and Google
 * flavours) + a mailslot runtime whose MAILSLOT_PUBLIC_URL is its own
 * address (apps pointing at the fake: test/helpers/oauth.ts fakeApp), and the
 * customer's side, without a browser (open the link, press a button, follow
 * the provider) or in Chromium.
 */
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { freePort } from '../../src/db/embedded.ts'
import { startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../fakes/graph/index.ts'
import { startTestRuntime, type TestRuntime } from './runtime.ts'

export interface ConnectFixture { fake: FakeGraph, rt: TestRuntime, publicUrl: string }

export async function connectFixture (
  t: Test, opts: { fake?: FakeGraphOptions, env?: Record<string, string>, role?: 'all' | 'web' } = {}
): Promise<ConnectFixture> {
  const fake = await startFakeGraph(opts.fake)
  t.teardown(async () => await fake.close())
  // the public URL must be known before start: pick the port first
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const rt = await startTestRuntime(t, { role: opts.role, env: { PORT: String(port), MAILSLOT_PUBLIC_URL: publicUrl, ...opts.env } })
  return { fake, rt, publicUrl }
}

/** The answer's body; throws unless the status is 2xx. */
export async function apiOk (rt: TestRuntime, method: string, url: string, body?: unknown): Promise<any> {
  const res = await rt.api(method, url, body)
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${url}: ${res.status} ${res.text}`)
  return res.body
}

/** A connect link's URL (POST /api/v1/connect-links). */
export async function newLink (rt: TestRuntime, body: Record<string, unknown>): Promise<string> {
  return (await apiOk(rt, 'POST', '/api/v1/connect-links', body)).url
}

const cookiesOf = (res: Response): string => res.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')

/** The customer opens the link and presses the app's button: where the browser is sent (the provider's authorization URL). */
export async function pressConnect (linkUrl: string, app: string): Promise<URL> {
  const page = await fetch(linkUrl)
  const html = await page.text()
  if (page.status !== 200) throw new Error(`GET ${linkUrl}: ${page.status}`)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  if (csrf === undefined) throw new Error('no CSRF token on the link page')
  const res = await fetch(linkUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookiesOf(page), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, app }).toString()
  })
  const location = res.headers.get('location')
  if (res.status !== 303 || location === null) throw new Error(`POST ${linkUrl}: ${res.status} ${await res.text()}`)
  return new URL(location)
}

/** The provider's redirect back (its consent page off: it answers at once): the callback URL with code or error, and state. */
export async function providerAnswer (authorizeUrl: URL): Promise<URL> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' })
  const location = res.headers.get('location')
  if (res.status !== 302 || location === null) throw new Error(`GET ${authorizeUrl.toString()}: ${res.status} ${await res.text()}`)
  return new URL(location)
}

/** The callback page: status and text. */
export async function openCallback (url: URL | string): Promise<{ status: number, html: string }> {
  const res = await fetch(url)
  return { status: res.status, html: await res.text() }
}

/** The whole flow without a browser: link → button → provider → callback. */
export async function connectThrough (linkUrl: string, app: string): Promise<{ status: number, html: string, callbackUrl: URL }> {
  const callbackUrl = await providerAnswer(await pressConnect(linkUrl, app))
  return { ...await openCallback(callbackUrl), callbackUrl }
}

export interface BrowserConnect {
  /** The callback page's status and heading. */
  status: number
  heading: string
  /** When the browser asked for the callback (ms since the epoch). */
  callbackAt: number
}

/**
 * The customer in Chromium: opens the link, presses the button, signs in at
 * the fake's consent page (`consentPage: true`) as `account` and accepts
 * (or cancels). The page needs a context that trusts the fake (ignoreHTTPSErrors).
 */
export async function connectInBrowser (
  page: Page, linkUrl: string, o: { button: string, account: string, accept?: boolean }
): Promise<BrowserConnect> {
  await page.goto(linkUrl)
  await page.getByRole('button', { name: o.button }).click()
  await page.getByLabel('Account').fill(o.account)
  const [res] = await Promise.all([
    page.waitForResponse(r => new URL(r.url()).pathname === '/oauth/callback'),
    page.getByRole('button', { name: o.accept === false ? 'Cancel' : 'Accept' }).click()
  ])
  await page.waitForLoadState()
  return { status: res.status(), heading: await page.getByRole('heading', { level: 1 }).textContent() ?? '', callbackAt: res.request().timing().startTime }
}

/** The middle of the sorted values (the lower one of two). */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}
