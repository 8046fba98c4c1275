/**
 * The mailslot processes of a run (`node src/cli.ts start --role …`): started,
 * SIGKILLed on purpose, restarted. A process that exits when we did not kill
 * it has died by itself: that is recorded with its last output lines, and it
 * is started again so the run goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const CLI = path.join(ROOT, 'src', 'cli.ts')
const TAIL_LINES = 40

export interface Death { name: string, code: number | null, signal: NodeJS.Signals | null, at: number, tail: string[] }

export interface Member {
  name: string
  role: 'web' | 'worker'
  /** variables of this process only (the web process's PORT) */
  env?: Record<string, string>
  child?: ChildProcess
  /** resolves when the current child logged "mailslot started" */
  ready?: Promise<void>
  killedByUs: boolean
  starts: number
}

export interface Fleet {
  members: Member[]
  deaths: Death[]
  start: (m: Member) => Promise<void>
  kill: (m: Member) => Promise<void>
  alive: (m: Member) => boolean
  stopAll: () => Promise<void>
}

export function createFleet (
  env: NodeJS.ProcessEnv, logDir: string, say: (line: string) => void, elapsed: () => number
): Fleet {
  const members: Member[] = []
  const deaths: Death[] = []
  const logs = new Map<string, WriteStream>()
  let stopping = false

  const alive = (m: Member): boolean => m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null

  function start (m: Member): Promise<void> {
    if (stopping) return Promise.resolve()
    m.starts++
    m.killedByUs = false
    const child = spawn(process.execPath, [CLI, 'start', '--role', m.role], {
      env: { ...env, ...m.env, MAILSLOT_DATA_DIR: path.join(logDir, `data-${m.name}`) },
      cwd: ROOT,
      // its own process group: a Ctrl-C on the terminal reaches the run, which stops it
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    m.child = child
    let log = logs.get(m.name)
    if (log === undefined) { log = createWriteStream(path.join(logDir, `${m.name}.log`), { flags: 'a' }); logs.set(m.name, log) }
    const out = log
    out.write(`--- start #${m.starts} pid ${String(child.pid)} at ${elapsed().toFixed(1)} s\n`)
    const tail: string[] = []
    let partial = ''
    let onReady: () => void = () => {}
    m.ready = new Promise(resolve => { onReady = resolve })
    const take = (chunk: Buffer): void => {
      out.write(chunk)
      const lines = (partial + chunk.toString('utf8')).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        tail.push(line)
        if (line.includes('"msg":"mailslot started"')) onReady()
      }
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES)
    }
    child.stdout?.on('data', take)
    child.stderr?.on('data', take)
    child.on('exit', (code, signal) => {
      out.write(`--- exit ${String(signal ?? code)} at ${elapsed().toFixed(1)} s\n`)
      onReady() // nobody waits for a start that will not come
      if (m.killedByUs || (stopping && signal === null && code === 0)) return
      if (partial !== '') tail.push(partial)
      const death = { name: m.name, code, signal, at: elapsed(), tail: [...tail] }
      deaths.push(death)
      say(`DIED by itself: ${m.name} (pid ${String(child.pid)}) exited with ${String(signal ?? code)} at ${death.at.toFixed(1)} s; its last lines:`)
      for (const line of death.tail.slice(-15)) say(`    ${line}`)
      if (!stopping) setTimeout(() => { if (!stopping && !alive(m)) void start(m) }, 1000)
    })
    return m.ready
  }

  async function kill (m: Member): Promise<void> {
    const child = m.child
    if (child === undefined || !alive(m)) return
    m.killedByUs = true
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async function stopAll (): Promise<void> {
    stopping = true
    await Promise.all(members.map(async m => {
      const child = m.child
      if (child === undefined || !alive(m)) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => { m.killedByUs = true; child.kill('SIGKILL') }, 15_000)
      await exited
      clearTimeout(timer)
    }))
    await Promise.all([...logs.values()].map(async log => await new Promise(resolve => log.end(resolve))))
  }

  return { members, deaths, start, kill, alive, stopAll }
}
