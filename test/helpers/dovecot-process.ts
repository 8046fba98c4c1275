/**
 * Process control for the private Dovecot of test/helpers/dovecot.ts: start
 * and wait for the greeting, stop and wait until every process of the
 * instance is gone (tracked through /proc, so other Dovecots are untouched).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const HOST = '127.0.0.1'

export async function launch (
  bin: { dovecot: string },
  dir: string,
  port: number,
  tlsPort: number | undefined,
  timeoutMs: number
): Promise<ChildProcess> {
  const errFd = fs.openSync(path.join(dir, 'stderr.log'), 'a')
  const child = spawn(bin.dovecot, ['-F', '-c', path.join(dir, 'dovecot.conf')], {
    stdio: ['ignore', errFd, errFd],
  })
  fs.closeSync(errFd)
  let exited: string | undefined
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`
      resolve()
    })
    child.once('error', (err) => {
      exited = `could not start: ${err.message}`
      resolve()
    })
  })
  child.unref()
  const deadline = Date.now() + timeoutMs
  // The master logs "starting up" once its listeners are bound: only then can
  // a greeting on the port be ours and not a parallel test's server.
  let bound = false
  let ready = false
  // eslint-disable-next-line no-unmodified-loop-condition -- the child's exit/error listeners set it while the loop awaits
  while (!exited && !ready && Date.now() <= deadline) {
    bound ||= readLog(dir).includes(' starting up')
    ready = bound && await greets(port, false) && (tlsPort === undefined || await greets(tlsPort, true))
    if (!ready) await sleep(15)
  }
  if (!ready || exited) {
    const why = exited ?? `did not answer on ${HOST}:${port} within ${timeoutMs} ms`
    if (!exited) {
      for (const pid of [...childrenOf(child.pid as number), child.pid as number]) {
        try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
      }
      await Promise.race([exitPromise, sleep(2000)])
    }
    throw new Error(`Dovecot ${why}.\n--- stderr ---\n${tail(readFile(path.join(dir, 'stderr.log')), 20)}\n--- log ---\n${tail(readLog(dir), 30)}`)
  }
  return child
}

/** The plain port answers `* OK`; the TLS port just accepts connections. */
function greets (port: number, connectOnly: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    let data = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => {
      if (connectOnly) done(true)
    })
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1')
      if (data.includes('\n')) done(data.startsWith('* OK'))
    })
  })
}

export async function shutdown (doveadm: string, conf: string, child: ChildProcess): Promise<void> {
  const masterPid = child.pid as number
  // Every process of the instance: the master and its children, rescanned
  // while the master lives (it may fork more before it exits).
  const tracked = new Map<number, string>()
  const track = (): void => {
    for (const pid of [masterPid, ...childrenOf(masterPid)]) {
      const start = startTime(pid)
      if (start !== undefined && !tracked.has(pid)) tracked.set(pid, start)
    }
  }
  const alive = (): number[] => [...tracked].filter(([pid, start]) => isRunning(pid, start)).map(([pid]) => pid)
  track()
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      execFile(doveadm, ['-c', conf, 'stop'], () => resolve())
    })
    // Open sessions, logged in (imap) or not (imap-login), would hold the
    // master's shutdown for 5 s: end them now (they answer SIGTERM with a
    // BYE and exit). Not before `stop`: the master would fork new
    // imap-login processes (process_min_avail) that then wait 5 s for the
    // stats process.
    track()
    for (const pid of [...tracked.keys()].filter((p) => /^imap(-login)?$/.test(commOf(p) ?? ''))) {
      try { process.kill(pid, 'SIGTERM') } catch { /* gone */ }
    }
  }
  const deadline = Date.now() + 5000
  while (alive().length > 0 && Date.now() < deadline) {
    if (isRunning(masterPid, tracked.get(masterPid) as string)) track()
    await sleep(20)
  }
  for (const pid of alive()) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  while (alive().length > 0 && Date.now() < deadline + 2000) await sleep(20)
}

export function childrenOf (ppid: number): number[] {
  const pids: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = readStat(Number(name))
    if (stat && Number(stat[1]) === ppid) pids.push(Number(name))
  }
  return pids
}

/** Fields of /proc/<pid>/stat after the command: [state, ppid, …]. */
function readStat (pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

function commOf (pid: number): string | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'))
  } catch {
    return undefined
  }
}

function startTime (pid: number): string | undefined {
  return readStat(pid)?.[19]
}

/** Running and the same process (not a reused pid, not a zombie). */
function isRunning (pid: number, start: string): boolean {
  const stat = readStat(pid)
  return stat !== undefined && stat[19] === start && stat[0] !== 'Z' && stat[0] !== 'X'
}

export function findDovecot (): { dovecot: string; doveadm: string } {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin']
  const find = (name: string): string | undefined => dirs.map((d) => path.join(d, name)).find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
  const dovecot = find('dovecot')
  const doveadm = find('doveadm')
  if (!dovecot || !doveadm) {
    throw new Error('Dovecot is not installed: run `apt-get install dovecot-imapd` (the tests start a private Dovecot).')
  }
  return { dovecot, doveadm }
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export function readFile (file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

export function readLog (dir: string): string {
  return readFile(path.join(dir, 'dovecot.log'))
}

export function tail (text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}
