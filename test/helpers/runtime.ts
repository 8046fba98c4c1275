/**
 * Starts the real mailslot runtime for a test: its own database, a free port,
 * a temporary data dir. Logs are captured so tests can check what was logged.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { loadSettings, type Settings } from '../../src/config/settings.ts'
import { startRuntime, type Role, type Runtime } from '../../src/runtime/start.ts'
import type { WorkerOptions } from '../../src/runtime/workers.ts'
import type { AppOptions } from '../../src/http/app.ts'
import { createLogger } from '../../src/shared/logger.ts'
import { createTestDatabase } from './db.ts'

export interface TestRuntime extends Runtime {
  databaseUrl: string
  token: string
  /** Environment another mailslot process needs to share this one's database and secrets. */
  env: Record<string, string>
  /** Every log line written so far. */
  logs: () => string
  api: (
    method: string, url: string, body?: unknown, token?: string | null
  ) => Promise<{ status: number, body: any, headers: Headers, text: string }>
}

export async function startTestRuntime (
  t: Test, opts: {
    role?: Role, env?: Record<string, string>, databaseUrl?: string, background?: boolean, app?: AppOptions, workers?: WorkerOptions,
    /** Settings no environment variable sets (deliveryTimeoutMs), over those loaded from `env`. */
    settings?: Partial<Settings>
  } = {}
): Promise<TestRuntime> {
  const databaseUrl = opts.databaseUrl ?? await createTestDatabase(t)
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-test-'))
  const token = randomBytes(18).toString('base64url')
  const shared = { DATABASE_URL: databaseUrl, MAILSLOT_ADMIN_TOKEN: token, MAILSLOT_ENCRYPTION_KEY: randomBytes(32).toString('base64') }
  const settings: Settings = loadSettings({
    ...shared,
    MAILSLOT_DATA_DIR: dataDir,
    PORT: '0',
    MAILSLOT_LOG_LEVEL: 'debug',
    ...opts.env
  })
  Object.assign(settings, opts.settings)
  let captured = ''
  const sink = new Writable({ write (chunk, _enc, cb) { captured += chunk.toString(); cb() } })
  const log = createLogger(settings.logLevel, sink)
  const rt = await startRuntime(settings, { role: opts.role, log, background: opts.background, app: opts.app, workers: opts.workers })
  t.teardown(async () => {
    await rt.stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  const api: TestRuntime['api'] = async (method, url, body, auth = token) => {
    const headers: Record<string, string> = {}
    if (auth !== null) headers.authorization = `Bearer ${auth}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(rt.address + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed, headers: res.headers, text }
  }
  return Object.assign(rt, { databaseUrl, token, env: shared, logs: () => captured, api })
}
