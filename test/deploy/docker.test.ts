/**
 * The Docker image and the Compose example, checked without Docker (no
 * daemon here): the Compose file parses and runs a web and a worker sharing
 * one database, key and token; every variable it sets is one mailslot (or
 * node-pg) reads; the Dockerfile's stages, user and health check; and the
 * image's entrypoint, which turns secret files into those variables, run for
 * real against PostgreSQL.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { loadSettings } from '../../src/config/settings.ts'
import { ROOT } from '../setup/shared-db.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { cleanEnv } from '../helpers/cli.ts'

const ENTRYPOINT = path.join(ROOT, 'deploy', 'docker-entrypoint.sh')

interface Service {
  command?: string[], environment?: Record<string, string>, secrets?: string[], healthcheck?: { disable?: boolean }, image?: string
}
const compose = parse(await readFile(path.join(ROOT, 'deploy', 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>, secrets: Record<string, { file: string }>
}
const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8')

/** The variables loadSettings reads: every name it looks up in the environment. */
function namesMailslotReads (): Set<string> {
  const read = new Set<string>()
  loadSettings(new Proxy({}, { get: (_target, name) => { read.add(String(name)); return undefined } }))
  return read
}

/** Names the entrypoint sets from NAME_FILE. */
const fileBacked = /for name in ([A-Z_ ]+); do/.exec(await readFile(ENTRYPOINT, 'utf8'))?.[1].trim().split(/\s+/) ?? []

t.test('compose: a web and a worker on one database, key and token, beside PostgreSQL', async t => {
  const { web, worker, postgres } = compose.services
  t.same(web.command, ['start', '--role', 'web'])
  t.same(worker.command, ['start', '--role', 'worker'])
  t.same(worker.environment, web.environment, 'the same settings, so the same key and token')
  t.same(worker.secrets, web.secrets)
  t.match(web.environment?.DATABASE_URL, /^postgres:\/\/mailslot@postgres:5432\/mailslot$/, 'the compose PostgreSQL, no password in the URL')
  t.equal(worker.healthcheck?.disable, true, 'a worker serves no HTTP: no /healthz check')
  t.ok(postgres.image?.startsWith('postgres:'))
  for (const name of [...web.secrets ?? [], ...postgres.secrets as string[]]) {
    t.ok(compose.secrets[name] !== undefined, `secret ${name} is declared`)
    t.match(compose.secrets[name].file, /^\.\/secrets\//, `${name} lives in deploy/secrets`)
  }
  t.match(await readFile(path.join(ROOT, '.gitignore'), 'utf8'), /^deploy\/secrets\/$/m, 'the secret files stay out of git')
  t.match(await readFile(path.join(ROOT, '.dockerignore'), 'utf8'), /^deploy\/secrets$/m, 'and out of the image')
})

t.test('compose: every variable set for mailslot is one it reads', async t => {
  const reads = namesMailslotReads()
  t.ok(reads.has('DATABASE_URL') && reads.has('MAILSLOT_ENCRYPTION_KEY'), 'the recorder sees what loadSettings reads')
  // PGPASSWORD: node-pg's own, for a URL without password
  const known = (name: string): boolean => reads.has(name) || name === 'PGPASSWORD'
  t.ok(fileBacked.every(known), `the entrypoint reads files for known variables only (${fileBacked.join(', ')})`)
  for (const name of Object.keys(compose.services.web.environment ?? {})) {
    const base = name.replace(/_FILE$/, '')
    t.ok(name.endsWith('_FILE') ? fileBacked.includes(base) : known(name), `${name} is read`)
  }
  for (const key of ['MAILSLOT_ENCRYPTION_KEY', 'MAILSLOT_ADMIN_TOKEN']) {
    t.ok(compose.services.web.environment?.[`${key}_FILE`] !== undefined, `${key} is shared, from a secret`)
  }
})

t.test('Dockerfile: a deps stage, a slim runtime stage without npm, not root, with a health check', async t => {
  const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map(m => m[2])
  t.same(stages, ['deps', 'runtime'])
  const [deps, runtime] = dockerfile.split(/^FROM .*$/m).slice(1)
  t.match(deps, /npm ci --omit=dev/, 'production dependencies only')
  t.match(runtime, /COPY --from=deps \/app\/node_modules/)
  t.match(runtime, /rm -rf \/usr\/local\/lib\/node_modules\/npm/, 'no npm in the runtime image')
  t.match(runtime, /^USER mailslot$/m)
  t.match(runtime, /useradd --system --uid 10001/, 'a non-root system user')
  t.match(runtime, /^HEALTHCHECK .*\n\s+CMD .*\/healthz/m)
  t.match(runtime, /^ENTRYPOINT \["mailslot-entrypoint", "node", "bin\/mailslot.js"\]$/m)
  const ignored = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').filter(Boolean)
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of m[1].split(' ')) {
      t.ok(existsSync(path.join(ROOT, source)), `${source} exists`)
      t.notOk(ignored.some(i => source === i || source.startsWith(i + '/')), `${source} is in the build context`)
    }
  }
})

async function run (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn('sh', [ENTRYPOINT, ...args], { env: cleanEnv(env), cwd: ROOT })
  let stdout = ''; let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, stdout, stderr }
}

t.test('entrypoint: NAME_FILE sets NAME (one trailing newline dropped); both, or an unreadable file, exit 2', async t => {
  const dir = t.testdir({ token: 'a-long-enough-admin-token\n', key: 'a2V5\n' })
  const r = await run(['env'], { MAILSLOT_ADMIN_TOKEN_FILE: path.join(dir, 'token'), MAILSLOT_ENCRYPTION_KEY_FILE: path.join(dir, 'key') })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^MAILSLOT_ADMIN_TOKEN=a-long-enough-admin-token$/m)
  t.match(r.stdout, /^MAILSLOT_ENCRYPTION_KEY=a2V5$/m)
  t.notMatch(r.stdout, /^MAILSLOT_(ADMIN_TOKEN|ENCRYPTION_KEY)_FILE=/m, 'the _FILE variables are gone')
  const both = await run(['env'], { MAILSLOT_ADMIN_TOKEN: 'x', MAILSLOT_ADMIN_TOKEN_FILE: path.join(dir, 'token') })
  t.equal(both.code, 2)
  t.equal(both.stderr, 'mailslot: configuration error: MAILSLOT_ADMIN_TOKEN and MAILSLOT_ADMIN_TOKEN_FILE are both set: keep one\n')
  const missing = await run(['env'], { PGPASSWORD_FILE: path.join(dir, 'nope') })
  t.equal(missing.code, 2)
  t.match(missing.stderr, /PGPASSWORD_FILE: cannot read/)
})

t.test('entrypoint + PostgreSQL: the password from a secret file, the URL without it, as compose runs it', async t => {
  const url = new URL(await createTestDatabase(t))
  const password = decodeURIComponent(url.password)
  url.password = ''
  const dir = t.testdir({ right: `${password}\n`, wrong: 'not-the-password\n', data: {} })
  const env = (file: string): Record<string, string> => ({ DATABASE_URL: url.toString(), PGPASSWORD_FILE: path.join(dir, file), MAILSLOT_DATA_DIR: path.join(dir, 'data') })
  const ok = await run([process.execPath, 'src/cli.ts', 'migrate'], env('right'))
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, 'migrations are up to date\n')
  if (password !== '') {
    const refused = await run([process.execPath, 'src/cli.ts', 'migrate'], env('wrong'))
    t.equal(refused.code, 2, 'a refused password is a configuration error')
  }
})
