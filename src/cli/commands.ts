/** The CLI commands. Each opens what it needs (database, queue) and closes it again. */
import { readFile } from 'node:fs/promises'
import type { Settings } from '../config/settings.ts'
import { validateMailboxJson } from '../mailboxes/schema.ts'
import { createMailbox, getMailboxView, listMailboxes, resealMailboxSecrets, type MailboxView } from '../mailboxes/repository.ts'
import { resealClientStates } from '../graph-webhooks/subscriptions/repository.ts'
import { resealAppSecrets } from '../oauth/apps/repository.ts'
import { resealConnectionTokens } from '../oauth/connections/repository.ts'
import { resealLinkSecrets } from '../oauth/connect/links.ts'
import type { MailboxSpec } from '../mailboxes/types.ts'
import { requestSync, wakePollers } from '../ingestion/request-sync.ts'
import { AppError, errorMessage, fieldError } from '../shared/errors.ts'
import { startRuntime, type Role, type Runtime } from '../runtime/start.ts'
import { runServer } from './serve.ts'
import { listEmails } from '../inbound/repository.ts'
import { STATUSES } from '../inbound/lifecycle.ts'
import { bulkReplayFilter, replayEmail, replayMatching } from '../inbound/replay.ts'
import { printTable } from './table.ts'
import { resolveSecretRefs } from '../mailboxes/secret-refs.ts'
import { checkConfigFile } from '../runtime/config-file.ts'
import { UsageError } from './usage-error.ts'
import { renderMailboxTest, testMailbox } from './mailbox-test.ts'

/** A Graph subscription in one cell: `active until <time>`, `failed`, or `-`. */
function subscriptionCell (s: MailboxView['subscription']): string {
  if (s === null) return '-'
  return s.state === 'active' && s.expiresAt !== null ? `active until ${s.expiresAt}` : s.state
}

export interface CommandInput {
  settings: Settings
  values: { role?: string, file?: string, json?: boolean, mailbox?: string, status?: string, since?: string }
  args: string[]
}

type Command = (input: CommandInput) => Promise<number>

/** A runtime for a one-shot command: database and queue, no HTTP, no workers, no cron. */
async function withRuntime<T> (settings: Settings, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await startRuntime({ ...settings, logLevel: settings.logLevel === 'info' ? 'warn' : settings.logLevel }, { background: false })
  try { return await fn(rt) } finally { await rt.stop() }
}

async function readInput (file: string): Promise<string> {
  if (file !== '-') return await readFile(file, 'utf8')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function oneArg (input: CommandInput, what: string): string {
  if (input.args.length !== 1) throw new UsageError(`expected exactly one ${what}`)
  return input.args[0]
}

export const commands: Record<string, Command> = {
  async start ({ settings, values }) {
    const role = (values.role ?? 'all') as Role
    if (!['all', 'web', 'worker'].includes(role)) throw new UsageError('--role must be all, web or worker')
    return await runServer(settings, role)
  },

  async migrate ({ settings }) {
    // startRuntime applies pending migrations under the advisory lock
    await withRuntime(settings, async () => {})
    process.stdout.write('migrations are up to date\n')
    return 0
  },

  async 'mailbox add' (input) {
    if (input.values.file === undefined) throw new UsageError('mailbox add needs --file F (or --file - for stdin)')
    let spec: unknown
    try { spec = JSON.parse(await readInput(input.values.file)) } catch (err) {
      throw fieldError('body', `is not valid JSON: ${errorMessage(err)}`)
    }
    // references are read here, as the operator running the command; relative files from the working directory
    const resolved = await resolveSecretRefs(spec, { baseDir: process.cwd(), env: process.env })
    if (!resolved.ok) throw fieldError(resolved.error.field, resolved.error.message)
    spec = resolved.spec
    const check = validateMailboxJson(spec, input.settings.webhookAllowPrivate)
    if (!check.ok) throw fieldError(check.error.field, check.error.message)
    const view = await withRuntime(input.settings, async (rt) => {
      const created = await createMailbox(rt.ctx, rt.ctx.pool, spec as MailboxSpec)
      await wakePollers(rt.ctx.pool)
      return created
    })
    process.stdout.write(JSON.stringify(view, null, 2) + '\n')
    return 0
  },

  async 'mailbox list' ({ settings, values }) {
    const items = await withRuntime(settings, async (rt) => await listMailboxes(rt.ctx.pool))
    if (values.json === true) process.stdout.write(JSON.stringify({ items }, null, 2) + '\n')
    else printTable(items.map(m => ({ name: m.name, provider: m.provider, health: m.health.state, subscription: subscriptionCell(m.subscription), lastPoll: m.health.lastPollAt ?? '-', lastError: m.health.lastError ?? '' })))
    return 0
  },

  async 'mailbox poll' (input) {
    const name = oneArg(input, 'mailbox name')
    await withRuntime(input.settings, async (rt) => {
      const view = await getMailboxView(rt.ctx.pool, name)
      await requestSync(rt.ctx, view.id, 'manual')
    })
    process.stdout.write(`sync of ${name} queued\n`)
    return 0
  },

  async 'mailbox test' (input) {
    const name = oneArg(input, 'mailbox name')
    const report = await withRuntime(input.settings, async (rt) => await testMailbox(rt.ctx, name))
    process.stdout.write(input.values.json === true ? JSON.stringify(report, null, 2) + '\n' : renderMailboxTest(report))
    return report.ok ? 0 : 1
  },

  async 'config check' (input) {
    if (input.args.length > 1) throw new UsageError('expected one configuration file')
    const file = input.args[0] ?? input.settings.configFile
    if (file === undefined) throw new UsageError('config check needs a FILE (or MAILSLOT_CONFIG)')
    const { config, errors } = await checkConfigFile(file, input.settings.webhookAllowPrivate)
    if (errors.length > 0) {
      process.stderr.write(errors.map(e => `mailslot: configuration error: ${e}\n`).join(''))
      return 2
    }
    process.stdout.write(`ok: ${config.mailboxes.length} mailboxes, ${config.projects.length} projects, ${config.oauthApps.length} OAuth apps\n`)
    return 0
  },

  async 'secrets rotate' ({ settings }) {
    // one table after the other; each row is compare-and-set, so running processes may keep writing
    const counts = await withRuntime(settings, async (rt) => [
      await resealMailboxSecrets(rt.ctx.pool, rt.ctx.keyring),
      await resealClientStates(rt.ctx.pool, rt.ctx.keyring),
      await resealAppSecrets(rt.ctx.pool, rt.ctx.keyring),
      await resealConnectionTokens(rt.ctx.pool, rt.ctx.keyring),
      await resealLinkSecrets(rt.ctx.pool, rt.ctx.keyring)
    ])
    for (const c of counts) {
      process.stdout.write(`${c.name}: ${c.rotated} re-encrypted, ${c.current} already under the first key` +
        (c.undecryptable.length > 0 ? `, ${c.undecryptable.length} no listed key opens (ids ${c.undecryptable.join(', ')})` : '') +
        (c.changing.length > 0 ? `, ${c.changing.length} rewritten with an old key meanwhile (ids ${c.changing.join(', ')})` : '') + '\n')
    }
    if (counts.every(c => c.undecryptable.length === 0 && c.changing.length === 0)) return 0
    process.stderr.write('mailslot: some secrets are not under the first key of MAILSLOT_ENCRYPTION_KEY: keep the old key until they are\n')
    return 1
  },

  async 'emails list' ({ settings, values }) {
    if (values.status !== undefined && !(STATUSES as readonly string[]).includes(values.status)) {
      throw fieldError('status', `must be one of ${STATUSES.join(', ')}`)
    }
    const filter = { mailbox: values.mailbox, status: values.status, limit: 1000 }
    const items = await withRuntime(settings, async (rt) => await listEmails(rt.ctx.pool, filter))
    if (values.json === true) process.stdout.write(JSON.stringify({ items }, null, 2) + '\n')
    else printTable(items.map(e => ({ id: e.id, mailbox: e.mailbox, status: e.status, reason: e.reason ?? '', handler: e.handler ?? '', received: e.receivedAt, subject: (e.subject ?? '').slice(0, 50) })))
    return 0
  },

  async 'emails replay' (input) {
    const { status, mailbox, since } = input.values
    const bulk = status !== undefined || mailbox !== undefined || since !== undefined
    if (bulk && input.args.length > 0) throw new AppError('invalid_request', 'emails replay takes an email ID or --status, not both')
    if (bulk) {
      const filter = bulkReplayFilter({ status, mailbox, since }, field => `--${field}`)
      const queued = await withRuntime(input.settings, async (rt) => await replayMatching(rt.ctx, filter))
      process.stdout.write(`${queued} ${queued === 1 ? 'email' : 'emails'} queued for replay\n`)
      return 0
    }
    const raw = oneArg(input, 'email id (or --status failed for a bulk replay)')
    if (!/^\d+$/.test(raw)) throw fieldError('id', 'must be a whole number')
    await withRuntime(input.settings, async (rt) => { await replayEmail(rt.ctx, Number(raw)) })
    process.stdout.write(`email ${raw} queued for handling again\n`)
    return 0
  }
}
