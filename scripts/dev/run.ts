/**
 * `npm run dev`: a complete local mailslot in one command, until Ctrl-C.
 *
 * Starts, in order: a private Dovecot and the HTTPS Graph fake
 * (services.ts), then mailslot itself in this process (server, workers and
 * scheduler) on the embedded PostgreSQL of the dev data dir
 * (MAILSLOT_DEV_DIR, default `.mailslot-dev`, never `.mailslot`), with a
 * seeded project and two mailboxes (seed.ts); in this process, because the
 * fake's self-signed certificate is trusted process-wide (trustFakeCa).
 * Prints the admin URL, the token and what to try, and writes the state file
 * `mailslot dev send` reads (src/cli/dev-state.ts). SIGINT or SIGTERM stops
 * everything it started, in reverse; the next run reuses the data dir: same
 * token, same project and issues.
 *
 * Environment: PORT (default 3000) for mailslot; MAILSLOT_LOG_LEVEL (default
 * `warn`, so that this output stays readable); DATABASE_URL is ignored.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError, loadSettings } from '../../src/config/settings.ts'
import { startRuntime } from '../../src/runtime/start.ts'
import { projectByPath } from '../../src/handlers/builtin/projects.ts'
import { projectView } from '../../src/handlers/builtin/views.ts'
import { devDir, removeDevState, runningDevState, writeDevState, type DevState } from '../../src/cli/dev-state.ts'
import { errorMessage } from '../../src/shared/errors.ts'
import { keepablePort, SetupError, startServices, stopAll, type StopStack } from './services.ts'
import { PROJECT_PATH, sendTargets, writeDevConfig } from './seed.ts'
import { banner } from './banner.ts'

/** What stays from run to run besides the database: the Graph fake's port. */
interface Kept { graphPort: number }

async function kept (dir: string): Promise<Kept> {
  const file = path.join(dir, 'dev.json')
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Kept
  const fresh = { graphPort: await keepablePort() }
  await writeFile(file, JSON.stringify(fresh) + '\n')
  return fresh
}

/** The first signal asks to stop (also mid start-up); a second one exits at once. */
let signalled: (() => void) | undefined
const stopRequested = new Promise<void>(resolve => { signalled = resolve })
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) { process.stderr.write('mailslot dev: second signal: exiting now, processes may be left running\n'); process.exit(1) }
    stopping = true
    signalled?.()
  })
}

/** Between start-up steps: a stop asked for meanwhile ends start-up there. */
class Stopped extends Error {}
function checkpoint (): void { if (stopping) throw new Stopped() }

async function start (dir: string, stack: StopStack): Promise<DevState> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const other = await runningDevState(dir)
  if (other !== undefined) throw new SetupError(`a dev environment is already running in ${dir} (pid ${other.pid}): stop it first`)
  const services = await startServices(stack, await kept(dir))
  checkpoint()
  const configFile = path.join(dir, 'mailslot.yml')
  await writeDevConfig(configFile, services)
  const settings = loadSettings({
    ...process.env,
    DATABASE_URL: '',
    MAILSLOT_DATA_DIR: dir,
    MAILSLOT_CONFIG: configFile,
    MAILSLOT_LOG_LEVEL: process.env.MAILSLOT_LOG_LEVEL ?? 'warn'
  })
  const rt = await startRuntime(settings)
  stack.push({ name: 'mailslot', stop: rt.stop })
  checkpoint()
  const project = await projectByPath(rt.ctx.pool, PROJECT_PATH)
  if (project === null) throw new Error(`the seeded project ${PROJECT_PATH} is missing after the configuration was applied`)
  const { addresses } = projectView(project)
  return {
    pid: process.pid,
    url: rt.address as string,
    adminToken: rt.ctx.adminToken,
    project: {
      id: project.id, path: project.path, issueAddress: addresses.issue as string, serviceDeskAddress: addresses.serviceDesk as string
    },
    mailboxes: sendTargets(services),
    pids: { dovecot: services.dovecot.pid }
  }
}

async function main (): Promise<number> {
  const dir = devDir()
  const stack: StopStack = []
  const report = (line: string): void => { process.stderr.write(`mailslot dev: ${line}\n`) }
  let code = 0
  try {
    const state = await start(dir, stack)
    await writeDevState(dir, state)
    stack.push({ name: 'state file', stop: async () => { await removeDevState(dir) } })
    process.stdout.write(banner(state, dir))
    await stopRequested
  } catch (err) {
    if (!(err instanceof Stopped)) {
      report(errorMessage(err).replace(/\s*\n\s*/g, ' '))
      code = err instanceof SetupError || err instanceof ConfigError ? 2 : 1
    }
  }
  // a failed start-up stops what it started without a word more than its one line
  if (stopping) process.stdout.write('mailslot dev: stopping…\n')
  await stopAll(stack, report)
  if (stopping) process.stdout.write('mailslot dev: stopped\n')
  return code
}

// every handle is closed by now; one a library leaves behind must not keep the process alive
process.exit(await main())
