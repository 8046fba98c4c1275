/**
 * npm run chaos: 1 web + 2 worker mailslot processes on one PostgreSQL, IMAP
 * mailboxes on a private Dovecot, emails fed over time while workers are
 * SIGKILLed at random moments and Dovecot and PostgreSQL are restarted once;
 * then every email must have exactly one effect. See RELIABILITY.md ("The last chaos run").
 *
 * CHAOS_SEED, CHAOS_EMAILS (2000), CHAOS_ROUNDS (20), CHAOS_MAILBOXES (20),
 * CHAOS_FEED_SECONDS (emails / 10, at least 60), CHAOS_DEADLINE_SECONDS (900),
 * CHAOS_NO_PG_RESTART=1, CHAOS_NO_DOVECOT_RESTART=1.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../../src/db/embedded.ts'
import { startDovecot, type Dovecot } from '../../test/helpers/dovecot.ts'
import { appendWithRetry, chaosEmail, tokenOf, type Sent, type Target } from './feed.ts'
import { createRng } from './prng.ts'
import { startPostgres, type ChaosPostgres } from './postgres.ts'
import { createFleet, type Fleet, type Member } from './processes.ts'
import { startSink, type Sink } from './sink.ts'
import { verify, type Verdict } from './verify.ts'

function intEnv (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) { console.error(`chaos: ${name} must be a whole number`); process.exit(2) }
  return n
}
const flag = (name: string): boolean => ['1', 'true', 'yes'].includes(process.env[name] ?? '')

const seed = intEnv('CHAOS_SEED', randomInt(1, 2 ** 31))
const EMAILS = intEnv('CHAOS_EMAILS', 2000)
const ROUNDS = intEnv('CHAOS_ROUNDS', 20)
const MAILBOXES = Math.max(1, intEnv('CHAOS_MAILBOXES', 20))
const FEED_MS = intEnv('CHAOS_FEED_SECONDS', Math.max(60, Math.ceil(EMAILS / 10))) * 1000
const DEADLINE_MS = intEnv('CHAOS_DEADLINE_SECONDS', 900) * 1000
const PG_RESTART = !flag('CHAOS_NO_PG_RESTART')
const DOVECOT_RESTART = !flag('CHAOS_NO_DOVECOT_RESTART')
/** the run gives up waiting once nothing changed for this long */
const QUIET_MS = 120_000
const PROJECTS = 4

const started = Date.now()
const deadline = started + DEADLINE_MS
const elapsed = (): number => (Date.now() - started) / 1000
const say = (line: string): void => { process.stdout.write(`[${elapsed().toFixed(1).padStart(6)} s] ${line}\n`) }
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))
const until = async (at: number): Promise<void> => await sleep(at - Date.now())

console.log(`chaos: seed=${seed} (CHAOS_SEED=${seed} reproduces this run) emails=${EMAILS} rounds=${ROUNDS} mailboxes=${MAILBOXES}` +
  ` feed=${FEED_MS / 1000}s deadline=${DEADLINE_MS / 1000}s pg-restart=${PG_RESTART ? 'yes' : 'no'} dovecot-restart=${DOVECOT_RESTART ? 'yes' : 'no'}`)

const rng = createRng(seed)
const dir = mkdtempSync(path.join(os.tmpdir(), `mailslot-chaos-${seed}-`))
// PostgreSQL runs as `postgres` when we are root: it must reach dir/db
chmodSync(dir, 0o711)
const logDir = path.join(dir, 'logs')
mkdirSync(logDir)
let postgres: ChaosPostgres | undefined
let imap: Dovecot | undefined
let sink: Sink | undefined
let fleet: Fleet | undefined
let cleaning: Promise<void> | undefined
/** set once stopping begins: outages in progress end without starting anything again */
let aborting = false
/** a Dovecot or PostgreSQL stop/start under way, which cleanup lets finish first */
const busy = new Set<Promise<unknown>>()
async function tracked<T> (op: Promise<T>): Promise<T> {
  busy.add(op)
  try { return await op } finally { busy.delete(op) }
}

/** Stops everything this run started, in reverse order; logs are kept when keepLogs. */
async function cleanup (keepLogs: boolean): Promise<void> {
  aborting = true
  cleaning ??= (async () => {
    await Promise.allSettled([...busy])
    await fleet?.stopAll().catch(err => say(`stopping mailslot: ${String(err)}`))
    await sink?.close().catch(() => {})
    await imap?.stop().catch(err => say(`stopping Dovecot: ${String(err)}`))
    await postgres?.stop().catch(err => say(`stopping PostgreSQL: ${String(err)}`))
    rmSync(path.join(dir, 'db'), { recursive: true, force: true })
    for (const m of fleet?.members ?? []) rmSync(path.join(logDir, `data-${m.name}`), { recursive: true, force: true })
    if (keepLogs) say(`process logs kept in ${logDir}`)
    else rmSync(dir, { recursive: true, force: true })
  })()
  await cleaning
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything`)
    void cleanup(true).finally(() => process.exit(130))
  })
}
// the last resort if something hangs past the deadline
setTimeout(() => {
  say('hard deadline passed: stopping everything')
  void cleanup(true).finally(() => process.exit(1))
}, DEADLINE_MS + 120_000).unref()

function childEnv (db: ChaosPostgres): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const k of Object.keys(base)) if (k.startsWith('MAILSLOT_') || k.startsWith('CHAOS_') || ['DATABASE_URL', 'PORT', 'HOST'].includes(k)) delete base[k]
  return {
    ...base,
    DATABASE_URL: db.url,
    MAILSLOT_ADMIN_TOKEN: randomBytes(18).toString('base64url'),
    MAILSLOT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    MAILSLOT_POLL_INTERVAL: '5',
    MAILSLOT_WEBHOOK_ALLOW_PRIVATE: 'true',
    MAILSLOT_LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0'
  }
}

async function main (): Promise<Verdict & { sent: number, kills: number }> {
  postgres = await startPostgres(path.join(dir, 'db'), () => {})
  const db = postgres
  imap = await startDovecot()
  const dovecot = imap
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  sink = await startSink(secret)
  const hooks = sink
  say(`PostgreSQL ${new URL(db.url).port}, Dovecot ${dovecot.port}, webhook sink ${hooks.url}`)

  const env = childEnv(db)
  const webPort = await freePort()
  fleet = createFleet(env, logDir, say, elapsed)
  const processes = fleet
  const web: Member = { name: 'web', role: 'web', env: { PORT: String(webPort) }, killedByUs: false, starts: 0 }
  const workers: Member[] = [1, 2].map(i => ({ name: `worker-${i}`, role: 'worker', killedByUs: false, starts: 0 }))
  processes.members.push(web, ...workers)
  await processes.start(web)
  if (!processes.alive(web)) throw new Error('the web process did not start')
  await Promise.all(workers.map(async w => await processes.start(w)))
  say('web and 2 workers started')

  const base = `http://127.0.0.1:${webPort}`
  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${env.MAILSLOT_ADMIN_TOKEN as string}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000)
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }

  // mailboxes: builtin ones first (projects take the first one's address), then the webhook one
  const builtin: Array<{ name: string, user: string }> = []
  for (let i = 1; i <= MAILBOXES; i++) {
    const u = dovecot.addUser(`chaos-${i}@chaos.example`)
    const name = `chaos-${i}`
    await api('POST', '/api/v1/mailboxes', {
      name, provider: 'imap', imap: { host: dovecot.host, port: dovecot.port, tls: 'none', user: u.user, password: u.password, connectTimeoutSeconds: 5 },
      address: 'incoming+%{key}@chaos.example', delivery: { kind: 'builtin' }, pollIntervalSeconds: 5
    })
    builtin.push({ name, user: u.user })
  }
  const hookUser = dovecot.addUser('chaos-hook@chaos.example')
  await api('POST', '/api/v1/mailboxes', {
    name: 'chaos-hook', provider: 'imap', imap: { host: dovecot.host, port: dovecot.port, tls: 'none', user: hookUser.user, password: hookUser.password, connectTimeoutSeconds: 5 },
    address: 'hook+%{key}@chaos.example', delivery: { kind: 'webhook', url: hooks.url, secret }, pollIntervalSeconds: 5
  })
  const projects: Array<{ id: number, issue: string }> = []
  for (let i = 1; i <= PROJECTS; i++) {
    const p = await api('POST', '/api/v1/projects', { path: `chaos/project-${i}` })
    projects.push({ id: p.id, issue: p.addresses.issue })
  }
  say(`${MAILBOXES} builtin mailboxes, 1 webhook mailbox, ${PROJECTS} projects created`)

  // the whole schedule is drawn from the seed up front
  const feedStart = Date.now() + 1000
  const webhookShare = Math.max(0.05, 1 / (MAILBOXES + 1))
  const draws = Array.from({ length: EMAILS }, () => ({ kind: rng.next(), mailbox: rng.next(), project: rng.next(), issue: rng.next() }))
  const killAt = Array.from({ length: ROUNDS }, () => feedStart + rng.between(0.03, 0.97) * FEED_MS).sort((a, b) => a - b)
  const restartAfter = killAt.map(() => rng.between(500, 3000))
  const dovecotAt = feedStart + rng.between(0.2, 0.4) * FEED_MS
  const dovecotDown = rng.between(2000, 6000)
  const pgAt = feedStart + rng.between(0.5, 0.7) * FEED_MS
  const pgDown = rng.between(2000, 6000)

  // issues known so far, for replies
  const known = new Map<number, Array<{ iid: number, replyAddress: string }>>()
  const feed = { done: false }
  const refresher = (async () => {
    while (!feed.done) {
      for (const p of projects) {
        try {
          const { items } = await api('GET', `/api/v1/projects/${p.id}/issues`) as { items: Array<{ iid: number, replyAddress: string }> }
          known.set(p.id, items.map(i => ({ iid: i.iid, replyAddress: i.replyAddress })))
        } catch { /* the web process or the database is down for a moment */ }
      }
      await sleep(3000)
    }
  })()

  const sent: Sent[] = []
  let appendRetries = 0
  let next = 0
  const lane = async (): Promise<void> => {
    for (;;) {
      const n = next++
      if (n >= EMAILS) return
      await until(feedStart + (n * FEED_MS) / EMAILS)
      const d = draws[n]
      const token = tokenOf(seed, n)
      const messageId = `<${token}@chaos.example>`
      let target: Target
      if (d.kind < webhookShare) {
        target = { kind: 'webhook', mailbox: 'chaos-hook', user: hookUser.user, to: `hook+${token}@chaos.example` }
      } else {
        const mb = builtin[Math.floor(d.mailbox * builtin.length)]
        const project = projects[Math.floor(d.project * projects.length)]
        const issues = known.get(project.id) ?? []
        if (issues.length > 0 && d.kind < webhookShare + (1 - webhookShare) * 0.5) {
          const issue = issues[Math.floor(d.issue * issues.length)]
          target = { kind: 'note', mailbox: mb.name, user: mb.user, to: issue.replyAddress, projectId: project.id, issueIid: issue.iid }
        } else {
          target = { kind: 'issue', mailbox: mb.name, user: mb.user, to: project.issue, projectId: project.id }
        }
      }
      appendRetries += await appendWithRetry(dovecot, target.user, chaosEmail(token, messageId, target), deadline) - 1
      sent.push({ n, token, messageId, target })
      if (sent.length % Math.max(1, Math.floor(EMAILS / 10)) === 0) say(`${sent.length}/${EMAILS} emails appended`)
    }
  }

  let kills = 0
  const restarts: Array<Promise<void>> = []
  const killer = (async () => {
    for (const [round, at] of killAt.entries()) {
      await until(at)
      let victims = workers.filter(w => processes.alive(w))
      while (victims.length === 0 && Date.now() < at + 15_000) { await sleep(200); victims = workers.filter(w => processes.alive(w)) }
      if (victims.length === 0) { say(`round ${round + 1}: no worker alive to kill`); continue }
      const victim = rng.pick(victims)
      const pid = victim.child?.pid
      await processes.kill(victim)
      kills++
      say(`round ${round + 1}/${ROUNDS}: SIGKILL ${victim.name} (pid ${String(pid)}), restart in ${(restartAfter[round] / 1000).toFixed(1)} s`)
      restarts.push(sleep(restartAfter[round]).then(async () => { if (!processes.alive(victim)) await processes.start(victim) }))
    }
  })()
  const dovecotOutage = (async () => {
    if (!DOVECOT_RESTART) return
    await until(dovecotAt)
    say(`Dovecot stopped for ${(dovecotDown / 1000).toFixed(1)} s`)
    await tracked(dovecot.halt())
    await sleep(dovecotDown)
    if (aborting) return
    await tracked(dovecot.resume())
    say('Dovecot started again')
  })()
  const pgOutage = (async () => {
    if (!PG_RESTART) return
    await until(pgAt)
    say(`PostgreSQL stopped (immediate) for ${(pgDown / 1000).toFixed(1)} s`)
    await tracked(db.crash())
    await sleep(pgDown)
    if (aborting) return
    await tracked(db.start())
    say('PostgreSQL started again')
  })()

  await Promise.all([...Array.from({ length: 4 }, lane), killer, dovecotOutage, pgOutage])
  feed.done = true
  await refresher
  await Promise.all(restarts)
  say(`feeding done: ${sent.length} emails appended (${appendRetries} APPENDs tried again), ${kills} kills; waiting until quiet`)

  const users = [...builtin.map(b => b.user), hookUser.user]
  const ids = projects.map(p => p.id)
  let last = ''
  let lastChange = Date.now()
  let verdict: Verdict | undefined
  for (;;) {
    try {
      verdict = await verify(sent, api, ids, hooks, dovecot, users, db.url)
      const line = `lost=${verdict.lost.length} doubled=${verdict.doubled.length} stuck=${verdict.stuck} unseen=${verdict.unseen}`
      if (line !== last) { say(`now ${line}`); last = line; lastChange = Date.now() }
      if (verdict.lost.length + verdict.doubled.length + verdict.stuck + verdict.unseen === 0) break
    } catch (err) {
      say(`check failed: ${String(err)}`)
    }
    if (Date.now() - lastChange > QUIET_MS) { say(`nothing changed for ${QUIET_MS / 1000} s: giving up waiting`); break }
    if (Date.now() > deadline) { say('deadline reached: giving up waiting'); break }
    await sleep(3000)
  }
  if (verdict === undefined) throw new Error('could not check the outcome')
  if (hooks.badSignatures > 0) say(`webhook sink: ${hooks.badSignatures} requests with a bad signature`)
  say(`webhook sink: ${hooks.requests} requests; server holds ${verdict.onServer} messages for ${sent.length} emails appended`)
  return { ...verdict, sent: sent.length, kills }
}

let code = 1
try {
  const r = await main()
  const died = fleet?.deaths.length ?? 0
  for (const id of r.lost.slice(0, 10)) say(`lost: ${id}`)
  if (r.lost.length > 0) say(`lost emails as mailslot recorded them: ${JSON.stringify(r.lostStates)}`)
  for (const id of r.doubled.slice(0, 10)) say(`doubled: ${id}`)
  for (const d of fleet?.deaths ?? []) say(`died: ${d.name} exited with ${String(d.signal ?? d.code)} at ${d.at.toFixed(1)} s`)
  const ok = r.lost.length + r.doubled.length + r.stuck + r.unseen + died === 0
  await cleanup(!ok)
  console.log(`kills=${r.kills} emails=${r.sent} lost=${r.lost.length} doubled=${r.doubled.length} stuck=${r.stuck} unseen=${r.unseen} ` +
    `died=${died} seed=${seed} duration=${elapsed().toFixed(0)}s`)
  code = ok ? 0 : 1
} catch (err) {
  say(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  await cleanup(true)
  console.log(`kills=? emails=? lost=? doubled=? stuck=? unseen=? died=${fleet?.deaths.length ?? 0} seed=${seed} duration=${elapsed().toFixed(0)}s`)
}
process.exit(code)
