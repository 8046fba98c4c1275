import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { waitFor } from '../helpers/wait.ts'
import { ROOT } from '../setup/shared-db.ts'
import { DEV_STATE_FILE, type DevState } from '../../src/cli/dev-state.ts'
import { READY_LINE } from '../../scripts/dev/banner.ts'
import { keepablePort } from '../../scripts/dev/services.ts'

/** The file `npm run dev` runs (its last word), so that the test starts exactly that. */
const ENTRY = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.dev.split(' ').at(-1) as string

/** A live process: not gone, not a zombie waiting for a parent that does not reap. */
function running (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0])
  } catch { return false }
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

interface Dev { state: DevState, output: () => string, stop: (signal: NodeJS.Signals) => Promise<number | null> }

/** `npm run dev`'s entry with this test's Node; `exited` resolves to its exit code. */
function spawnDev (env: Record<string, string>): { child: ChildProcess, output: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, ENTRY)], { env: cleanEnv(env), cwd: ROOT })
  let out = ''
  child.stdout?.on('data', d => { out += d })
  child.stderr?.on('data', d => { out += d })
  return { child, output: () => out, exited: new Promise(resolve => child.on('close', resolve)) }
}

/** The dev environment started, once it printed its ready line; the state it wrote. */
async function startDev (t: Test, env: Record<string, string>): Promise<Dev> {
  const { child, output, exited } = spawnDev(env)
  // never leave it running when an assertion fails
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGTERM') })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 180 s:\n${output()}`)), 180_000)
    child.stdout?.on('data', () => { if (output().includes(READY_LINE)) { clearTimeout(timer); resolve() } })
    void exited.then(code => { clearTimeout(timer); reject(new Error(`npm run dev exited with ${code}:\n${output()}`)) })
  })
  const state = JSON.parse(readFileSync(path.join(env.MAILSLOT_DEV_DIR, DEV_STATE_FILE), 'utf8')) as DevState
  return { state, output, stop: async (signal) => { child.kill(signal); return await exited } }
}

async function issues (state: DevState): Promise<Array<{ title: string, serviceDesk: boolean, author: string }>> {
  const res = await fetch(`${state.url}/api/v1/projects/${state.project.id}/issues`, { headers: { authorization: `Bearer ${state.adminToken}` } })
  return ((await res.json()) as { items: Array<{ title: string, serviceDesk: boolean, author: string }> }).items
}

/** The embedded PostgreSQL of the dev data dir: its postmaster.pid, pid and port. */
function postgres (dir: string): { pidFile: string, pid: number, port: number } {
  const { pgDir } = JSON.parse(readFileSync(path.join(dir, 'pg.json'), 'utf8')) as { pgDir?: string }
  const pidFile = path.join(pgDir ?? path.join(dir, 'pg'), 'postmaster.pid')
  const lines = readFileSync(pidFile, 'utf8').split('\n')
  return { pidFile, pid: Number(lines[0]), port: Number(lines[3]) }
}

/** Stops it with `signal` and checks that every process it started is gone and every port it opened is closed. */
async function stopAndCheck (t: Test, dev: Dev, dir: string, signal: NodeJS.Signals): Promise<void> {
  const pg = postgres(dir)
  const { state } = dev
  const imap = state.mailboxes.find(m => m.provider === 'imap')
  const graph = state.mailboxes.find(m => m.provider === 'graph')
  if (imap?.provider !== 'imap' || graph?.provider !== 'graph') throw new Error('the state lacks a mailbox')
  const ports = {
    mailslot: Number(new URL(state.url).port), postgres: pg.port, dovecot: imap.imap.port,
    'Graph fake': Number(new URL(graph.graph.url).port), 'Graph inbox endpoint': Number(new URL(graph.graph.inbox).port)
  }
  for (const [name, port] of Object.entries(ports)) t.ok(await portOpen(port), `${name} listens on ${port} while it runs`)
  t.ok(running(pg.pid) && running(state.pids.dovecot), 'postgres and dovecot run')

  t.equal(await dev.stop(signal), 0, `${signal}: exit 0`)
  t.match(dev.output(), /mailslot dev: stopped\n$/)
  const pids = { 'npm run dev': state.pid, postgres: pg.pid, dovecot: state.pids.dovecot }
  for (const [name, pid] of Object.entries(pids)) t.notOk(running(pid), `${name} (pid ${pid}) is gone`)
  for (const [name, port] of Object.entries(ports)) t.notOk(await portOpen(port), `the ${name} port is closed`)
  t.notOk(existsSync(pg.pidFile), 'postmaster.pid is removed')
  t.notOk(existsSync(path.join(dir, DEV_STATE_FILE)), 'the state file is removed')
  t.notOk(existsSync(path.join(dir, 'pg-users', String(state.pid))), 'its registration as a user of the database is gone')
}

/** The dev data dir and a port for mailslot that is still free for the second run, as 3000 would be. */
async function devEnv (dir: string): Promise<Record<string, string>> {
  return { MAILSLOT_DEV_DIR: dir, PORT: String(await keepablePort()) }
}

// two start-ups of the embedded PostgreSQL, Dovecot, the Graph fake and mailslot: minutes on a loaded machine
t.setTimeout(600_000)

t.test('npm run dev: an email sent with dev send becomes an issue, through IMAP and through Graph; Ctrl-C stops everything', async t => {
  const dir = t.testdir()
  const env = await devEnv(dir)
  const dev = await startDev(t, env)
  const { state } = dev
  t.match(dev.output(), state.adminToken, 'the token is printed')
  t.match(dev.output(), `${state.url}/admin`, 'and the admin URL')
  t.match(dev.output(), `npx mailslot dev send --to ${state.project.issueAddress}`, 'and what to try')
  t.equal(readFileSync(path.join(dir, 'admin-token'), 'utf8').trim(), state.adminToken, 'the token of the dev data dir')

  const sent = await runCli(['dev', 'send', '--to', state.project.issueAddress, '--subject', 'The printer is on fire', '--body', 'Smoke everywhere.'], env)
  t.equal(sent.code, 0, sent.stderr)
  t.match(sent.stdout, 'into dev-imap (imap); mailslot polls it now')
  const viaImap = await waitFor(async () => (await issues(state)).find(i => i.title === 'The printer is on fire'), 'the IMAP issue', 60_000, 250)
  t.equal(viaImap.serviceDesk, false, 'an issue by email')
  t.equal(viaImap.author, 'sender@example.org')

  const graphSent = await runCli(['dev', 'send', '--mailbox', 'dev-graph', '--to', state.project.serviceDeskAddress, '--subject', 'Help, please'], env)
  t.equal(graphSent.code, 0, graphSent.stderr)
  t.match(graphSent.stdout, 'into dev-graph (graph)')
  const viaGraph = await waitFor(async () => (await issues(state)).find(i => i.title === 'Help, please'), 'the Graph issue', 60_000, 250)
  t.equal(viaGraph.serviceDesk, true, 'a Service Desk issue through the Graph mailbox')

  const twice = spawnDev(env)
  t.equal(await twice.exited, 2, 'a second dev environment on the same data dir is refused')
  t.equal(twice.output(), `mailslot dev: a dev environment is already running in ${dir} (pid ${state.pid}): stop it first\n`)

  const unknown = await runCli(['dev', 'send', '--mailbox', 'nope', '--to', state.project.issueAddress], env)
  t.equal(unknown.code, 2)
  t.equal(unknown.stderr, 'mailslot: no dev mailbox named "nope" (there are dev-imap, dev-graph)\n')

  await stopAndCheck(t, dev, dir, 'SIGINT')

  // the next run reuses the data dir: same token, same project, its issues
  const again = await startDev(t, env)
  t.equal(again.state.adminToken, state.adminToken, 'same token')
  t.equal(again.state.project.issueAddress, state.project.issueAddress, 'same project')
  t.same((await issues(again.state)).map(i => i.title).sort(), ['Help, please', 'The printer is on fire'], 'its issues are still there')
  const later = await runCli(['dev', 'send', '--mailbox', 'dev-graph', '--to', state.project.issueAddress, '--subject', 'After a restart'], env)
  t.equal(later.code, 0, later.stderr)
  await waitFor(async () => (await issues(again.state)).find(i => i.title === 'After a restart'), 'an issue through Graph after a restart', 60_000, 250)
  await stopAndCheck(t, again, dir, 'SIGTERM')
})

t.test('dev send without a running dev environment: one line, exit 2', async t => {
  const dir = t.testdir()
  const r = await runCli(['dev', 'send', '--to', 'someone@example.com'], { MAILSLOT_DEV_DIR: dir })
  t.equal(r.code, 2)
  t.equal(r.stderr, `mailslot: no dev environment is running in ${dir}: start one with \`npm run dev\`\n`)
  t.equal(r.stdout, '')
})

t.test('dev send without --to: usage, exit 2', async t => {
  const r = await runCli(['dev', 'send'], { MAILSLOT_DEV_DIR: t.testdir() })
  t.equal(r.code, 2)
  t.match(r.stderr, /^mailslot: dev send needs --to ADDRESS/)
})
