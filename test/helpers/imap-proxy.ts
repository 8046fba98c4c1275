/**
 * A TCP proxy in front of a plain-text IMAP server that reads what clients
 * send: the connections open, those idling (sent IDLE, no DONE yet) and the
 * IDLE commands sent. Point one mailbox at one proxy to count its
 * connections at the server's door.
 */
import net from 'node:net'

export interface ImapProxy {
  host: string
  port: number
  /** Client connections open now. */
  open: () => number
  /** Client connections accepted since the start. */
  accepted: () => number
  /** Connections in IDLE now. */
  idling: () => number
  /** IDLE commands sent since the start. */
  idleCommands: () => number
  /** The name of every tagged command clients sent since the start, in order (`LOGIN`, `SELECT`, …). */
  commands: () => string[]
  close: () => Promise<void>
}

export async function startImapProxy (target: { host: string, port: number }): Promise<ImapProxy> {
  const idling = new Set<net.Socket>()
  const sockets = new Set<net.Socket>()
  let idleCommands = 0
  const commands: string[] = []
  let accepted = 0
  const server = net.createServer(client => {
    sockets.add(client)
    accepted++
    const upstream = net.connect(target.port, target.host)
    const end = (): void => {
      sockets.delete(client)
      idling.delete(client)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    let pending = ''
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1')
      let eol: number
      while ((eol = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, eol)
        pending = pending.slice(eol + 2)
        const tagged = /^[A-Za-z0-9.]+ ([A-Za-z]+)/.exec(line)
        if (tagged !== null) commands.push(tagged[1].toUpperCase())
        if (/^\S+ IDLE$/i.test(line)) { idleCommands++; idling.add(client) } else if (/^DONE$/i.test(line)) idling.delete(client)
      }
    })
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    accepted: () => accepted,
    idling: () => idling.size,
    idleCommands: () => idleCommands,
    commands: () => [...commands],
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
