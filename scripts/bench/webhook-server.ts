/**
 * The servers bench:webhook loads, each in its own process (the load
 * generator runs in the parent, so neither shares a CPU thread with it).
 * `node webhook-server.ts mailslot`: a mailslot web process (embedded or
 * DATABASE_URL PostgreSQL, public rate limit off) with MAILBOXES Graph
 * mailboxes whose subscriptions are seeded as the subscription manager
 * stores them. `node webhook-server.ts hello`: a bare Fastify hello world.
 * Prints one JSON line {url, subscriptions?}; on SIGTERM prints
 * {persisted: <notification rows>} (mailslot) and stops.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { newClientState, sealClientState } from '../../src/graph-webhooks/client-state.ts'
import { createMailbox } from '../../src/mailboxes/repository.ts'
import { benchRuntime } from './common.ts'

const MAILBOXES = 200

async function mailslot (): Promise<() => Promise<void>> {
  const bench = await benchRuntime('web', { MAILSLOT_PUBLIC_RATE_LIMIT: '0' })
  const { ctx } = bench.rt
  const subscriptions = []
  for (let i = 0; i < MAILBOXES; i++) {
    const user = `user${i}@contoso.example`
    const view = await createMailbox(ctx, ctx.pool, {
      name: `bench-${i}`, provider: 'graph', mode: 'webhook', delivery: { kind: 'builtin' },
      graph: { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'bench-secret', user }
    })
    const sub = { id: randomUUID(), clientState: newClientState(), userId: randomUUID() }
    await ctx.pool.query(
      `INSERT INTO graph_subscriptions (mailbox_id, subscription_id, client_state, resource, notification_url, expires_at, state)
       VALUES ($1, $2, $3, $4, $5, now() + interval '3 days', 'active')`,
      [view.id, sub.id, sealClientState(ctx.keyring, sub.clientState), `users/${user}/mailFolders('Inbox')/messages`, `${bench.rt.address as string}/graph/notifications`])
    subscriptions.push(sub)
  }
  process.stdout.write(JSON.stringify({ url: bench.rt.address, subscriptions }) + '\n')
  return async () => {
    const { rows } = await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM graph_notifications')
    process.stdout.write(JSON.stringify({ persisted: rows[0].n }) + '\n')
    await bench.close()
  }
}

async function hello (): Promise<() => Promise<void>> {
  const app = Fastify()
  app.get('/', async () => ({ hello: 'world' }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(JSON.stringify({ url }) + '\n')
  return async () => { await app.close() }
}

const close = await (process.argv[2] === 'hello' ? hello() : mailslot())
process.once('SIGTERM', () => { void close().then(() => process.exit(0)) })
