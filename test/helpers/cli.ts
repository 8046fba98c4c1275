/** Runs the real `mailslot` command in a child process. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { ROOT } from '../setup/shared-db.ts'

export const CLI = path.join(ROOT, 'src', 'cli.ts')

export interface CliResult { code: number | null, stdout: string, stderr: string }

export function cleanEnv (env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const k of Object.keys(base)) if (k.startsWith('MAILSLOT_') || k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST') delete base[k]
  return { ...base, ...env }
}

export async function runCli (args: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd: ROOT })
  let stdout = ''; let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  child.stdin.end(stdin ?? '')
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, stdout, stderr }
}

export interface Server {
  child: ChildProcess
  address: string
  output: () => string
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** `mailslot start`, waiting for its "mailslot started" log line. */
export async function startServer (env: Record<string, string>, args: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { env: cleanEnv({ PORT: '0', ...env }), cwd: ROOT })
  let out = ''
  const exited = new Promise<number | null>(resolve => child.on('close', resolve))
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + out)), 60_000)
    const onData = (d: Buffer): void => {
      out += d.toString()
      const m = /"address":"(http:\/\/[^"]+)".*"msg":"mailslot started"/.exec(out) ?? /"msg":"mailslot started"/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1] ?? '') }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    void exited.then(code => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${out}`)) })
  })
  return {
    child,
    address,
    output: () => out,
    stop: async (signal = 'SIGTERM') => { child.kill(signal); return await exited }
  }
}

/** `mailslot start --role worker` (or other args) as a child; `done` resolves when it exits, with its signal. */
export function spawnWorker (
  env: Record<string, string>, args = ['start', '--role', 'worker']
): { done: Promise<{ code: number | null, signal: NodeJS.Signals | null, output: string }>, child: ChildProcess, output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd: ROOT })
  let output = ''
  child.stdout?.on('data', d => { output += d })
  child.stderr?.on('data', d => { output += d })
  const done = new Promise<{ code: number | null, signal: NodeJS.Signals | null, output: string }>(resolve => {
    child.on('close', (code, signal) => resolve({ code, signal, output }))
  })
  return { done, child, output: () => output }
}
