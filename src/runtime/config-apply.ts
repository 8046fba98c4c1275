/**
 * Applies a checked MAILSLOT_CONFIG (config-file.ts) at start: declared
 * mailboxes, projects and OAuth apps are created or updated and marked as
 * declared; a mailbox the file declared before and no longer declares is
 * deleted as DELETE /api/v1/mailboxes/:name does, and so is such an app
 * unless mailboxes are connected through it (then it is kept, and
 * reported); such a project is kept, because deleting it would delete its
 * issues, and reported. Unmarked entries (API, CLI) are never touched.
 */
import { ConfigError } from '../config/settings.ts'
import { undeclaredMailboxes, deleteMailbox, upsertMailbox } from '../mailboxes/repository.ts'
import { releaseUndeclaredProjects, upsertDeclaredProject } from '../handlers/builtin/projects.ts'
import { deleteWithSubscription } from '../graph-webhooks/subscriptions/unsubscribe.ts'
import { releaseClient } from '../db/pool.ts'
import { wakePollers } from '../ingestion/request-sync.ts'
import type { AppContext } from '../context.ts'
import { AppError } from '../shared/errors.ts'
import type { DeclaredConfig } from './config-file.ts'
import { deleteApp, undeclaredApps, upsertApp } from '../oauth/apps/repository.ts'

/** Arbitrary constant: processes starting together apply the file one after the other. */
const CONFIG_LOCK = 727_002

export async function applyConfigFile (ctx: AppContext, config: DeclaredConfig): Promise<void> {
  const client = await ctx.pool.connect()
  let broken: unknown
  try {
    await client.query('SELECT pg_advisory_lock($1)', [CONFIG_LOCK])
    await applyLocked(ctx, config)
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [CONFIG_LOCK]).catch((err: unknown) => { broken = err })
    releaseClient(client, broken)
  }
}

async function applyLocked (ctx: AppContext, { file, mailboxes, projects, oauthApps }: DeclaredConfig): Promise<void> {
  for (const [i, app] of oauthApps.entries()) {
    try {
      await upsertApp(ctx.pool, ctx.keyring, app, { declared: true })
    } catch (err) {
      if (err instanceof AppError) throw new ConfigError('MAILSLOT_CONFIG', `${file}: oauthApps[${i}] "${app.name}": ${err.message}`)
      throw err
    }
  }
  const keptApps: string[] = []
  for (const name of await undeclaredApps(ctx.pool, oauthApps.map(a => a.name))) {
    try {
      await deleteApp(ctx.pool, name)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      // in use: kept until its mailboxes are gone; not_found: deleted meanwhile through the API
      if (err.code === 'oauth_app_in_use') keptApps.push(name)
    }
  }
  if (keptApps.length > 0) {
    ctx.log.warn({ file, oauthApps: keptApps }, 'OAuth apps no longer declared in the configuration file are kept while mailboxes are connected through them')
  }
  let made = false
  for (const m of mailboxes) made = (await upsertMailbox(ctx, ctx.pool, m, { declared: true })).created || made
  // as POST /api/v1/mailboxes does: new mailboxes are read at once, one wake-up for them all
  if (made) await wakePollers(ctx.pool)
  const removed = await undeclaredMailboxes(ctx.pool, mailboxes.map(m => m.name))
  for (const name of removed) {
    try {
      await deleteWithSubscription(ctx, name, async () => { await deleteMailbox(ctx.pool, name) })
    } catch (err) {
      // deleted meanwhile through the API: the outcome the file asks for
      if (!(err instanceof AppError && err.code === 'not_found')) throw err
    }
  }
  for (const [i, p] of projects.entries()) {
    try {
      await upsertDeclaredProject(ctx.pool, p)
    } catch (err) {
      if (err instanceof AppError) throw new ConfigError('MAILSLOT_CONFIG', `${file}: projects[${i}] "${p.path}": ${err.message}`)
      throw err
    }
  }
  const released = await releaseUndeclaredProjects(ctx.pool, projects.map(p => p.path))
  if (released.length > 0) {
    ctx.log.warn({ file, projects: released }, 'projects no longer declared in the configuration file are kept with their issues')
  }
  ctx.log.info({ file, mailboxes: mailboxes.length, projects: projects.length, oauthApps: oauthApps.length, removedMailboxes: removed }, 'config file applied')
}
