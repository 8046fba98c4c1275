/**
 * Headless Chromium for the page tests: the Debian `chromium` found on PATH,
 * driven by playwright-core (which downloads no browser of its own; .ci/run
 * installs the package). One browser per test file, closed in teardown; one
 * fresh context (cookies) per `page()`.
 */
import { accessSync, constants } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from 'tap'

export function chromiumPath (): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'chromium')
    try { accessSync(candidate, constants.X_OK); return candidate } catch {}
  }
  throw new Error('chromium is not on PATH: install the Debian package (apt-get install chromium; .ci/run does)')
}

export interface TestBrowser {
  browser: Browser
  /** A page in a context of its own (no cookies shared with other pages); errors of scripts on it are collected. */
  page: () => Promise<Page & { scriptErrors: string[] }>
}

export async function startBrowser (t: Test): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // the sandbox needs user namespaces, which containers and root often lack
    args: ['--no-sandbox', '--disable-dev-shm-usage']
  })
  t.teardown(async () => await browser.close())
  return {
    browser,
    async page () {
      const context = await browser.newContext()
      const page = Object.assign(await context.newPage(), { scriptErrors: [] as string[] })
      page.on('pageerror', err => page.scriptErrors.push(err.message))
      return page
    }
  }
}

/** Signs `page` in to the admin pages with `token`; it is then on /admin/mailboxes. */
export async function signIn (page: Page, address: string, token: string): Promise<void> {
  await page.goto(`${address}/admin`)
  await page.getByLabel('Admin token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL('**/admin/mailboxes')
}
