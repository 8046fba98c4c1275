/**
 * The stand-ins for outside services that `npm run dev` starts before
 * mailslot: a private Dovecot (IMAP) and the HTTPS fake of Microsoft Graph
 * with a small loopback endpoint through which `mailslot dev send` drops
 * mail into the fake's Inbox. Each start registers its stop on the stack,
 * so that whatever started is stopped, in reverse, however start-up ends.
 */
import { randomBytes, randomInt } from 'node:crypto'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { startDovecot, type Dovecot } from '../../test/helpers/dovecot.ts'
import { findDovecot } from '../../test/helpers/dovecot-process.ts'
import { startFakeGraph, type FakeGraph } from '../../test/fakes/graph/index.ts'
import { errorCode, errorMessage } from '../../src/shared/errors.ts'

/** Stops of what started, run in reverse by `stopAll`. */
export type StopStack = Array<{ name: string, stop: () => Promise<void> }>

/** A start-up problem the contributor must fix: one line, exit 2. */
export class SetupError extends Error {}

export const IMAP_USER = 'incoming@dev.mailslot.test'
export const GRAPH_USER = 'support@dev.mailslot.test'

export interface Services {
  dovecot: Dovecot
  imapPassword: string
  graph: FakeGraph
  /** POST a raw message here (Bearer `token`) to put it into the Inbox of `/users/<upn>/inbox`. */
  graphInbox: { url: string, token: string }
}

export async function startServices (stack: StopStack, o: { graphPort: number }): Promise<Services> {
  try { findDovecot() } catch (err) { throw new SetupError(errorMessage(err)) }
  if (process.getuid?.() !== 0) throw new SetupError('the dev Dovecot runs as root (it hands mailboxes to the `mail` user): run `npm run dev` as root, e.g. in a container')
  const dovecot = await startDovecot()
  stack.push({ name: 'Dovecot', stop: async () => { await dovecot.stop() } })
  const { password: imapPassword } = dovecot.addUser(IMAP_USER)

  // the same port every run: the Graph mailbox's sync state holds delta links on it
  const graph = await startFakeGraph({ port: o.graphPort, log: false }).catch((err: unknown) => {
    if (errorCode(err) !== 'EADDRINUSE') throw err
    throw new SetupError(`port ${o.graphPort} of the dev Graph fake is in use: free it, or remove the dev data dir to start over on another port`)
  })
  stack.push({ name: 'Graph fake', stop: async () => { await graph.close() } })
  graph.addMailbox(GRAPH_USER)
  const graphInbox = await startGraphInbox(graph)
  stack.push({ name: 'Graph inbox endpoint', stop: graphInbox.close })

  // The fake OAuth identity platform joins here: start it, push its stop, and
  // return what the seed (seed.ts) and the state file need to know of it.

  return { dovecot, imapPassword, graph, graphInbox }
}

/** `POST /users/<upn>/inbox` with a raw message → 201 `{id}`; anything else 404, a wrong token 401. */
async function startGraphInbox (graph: FakeGraph): Promise<{ url: string, token: string, close: () => Promise<void> }> {
  const token = randomBytes(18).toString('base64url')
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const user = /^\/users\/([^/]+)\/inbox$/.exec(req.url ?? '')?.[1]
      const answer = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
      if (req.headers.authorization !== `Bearer ${token}`) return answer(401, { error: 'unauthorized' })
      if (req.method !== 'POST' || user === undefined) return answer(404, { error: 'not found' })
      try {
        answer(201, graph.addMessage(decodeURIComponent(user), 'Inbox', Buffer.concat(chunks)))
      } catch (err) {
        answer(404, { error: errorMessage(err) })
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

async function free (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const server = net.createServer().once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free port below the range the system hands out to outgoing connections
 * and to listeners on port 0 (32768 and up on Linux), so that it is still
 * free at the next run: a port to keep.
 */
export async function keepablePort (): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = randomInt(20_000, 32_000)
    if (await free(port)) return port
  }
  throw new SetupError('no free port between 20000 and 32000 for the dev Graph fake')
}

/** Runs every registered stop, newest first; a failing stop is reported and the rest still run. */
export async function stopAll (stack: StopStack, report: (line: string) => void): Promise<void> {
  for (const { name, stop } of stack.splice(0).reverse()) {
    await stop().catch((err: unknown) => { report(`stopping ${name} failed: ${errorMessage(err)}`) })
  }
}
