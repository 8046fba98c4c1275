/**
 * The IMAP probe: DNS, connect (TLS, greeting), login, the folder opened
 * read-only (EXAMINE: no flag changes, \Recent kept for the poller), and the
 * messages a poll would take, found by the poll's own search (search.ts)
 * from the mailbox's cursor, with their sizes and dates (FETCH of RFC822.SIZE
 * and INTERNALDATE, which sets no flag).
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { ImapFlow } from 'imapflow'
import type { ImapSettings } from '../../mailboxes/types.ts'
import { Probe, PreviewTally, probeToken, type ProbeOptions, type ProbeReport } from '../probe.ts'
import type { AccessTokens } from '../types.ts'
import { explainNetwork } from '../network-errors.ts'
import { errorMessage } from '../../shared/errors.ts'
import { imapOptions } from './connect.ts'
import { isImapCursor, uidSet } from './provider.ts'
import { searchUids } from './search.ts'
import { explainFolder, explainLogin, isExchange, isLoginFailure, serverSaid, type ImapRefusal } from './explain.ts'

/** UIDs whose size and date are fetched per command. */
const FETCH_CHUNK = 5000

const TLS_WORDS = { implicit: 'TLS', starttls: 'STARTTLS', none: 'no TLS' }

/** `tokens`: a connected mailbox's (imap.auth.oauthApp), which logs in with its account's access token. */
export async function probeImap (settings: ImapSettings, o: ProbeOptions, tokens?: AccessTokens): Promise<ProbeReport> {
  const probe = new Probe()
  const app = settings.auth?.oauthApp
  const token = app === undefined ? undefined : await probeToken(probe, tokens, app)
  if (typeof token === 'object') return token
  const s: ImapSettings = token === undefined ? settings : { ...settings, auth: { accessToken: token } }
  const options = imapOptions(s)
  const where = `${s.host}:${options.port ?? ''}`
  const networkFailure = (err: unknown): string =>
    explainNetwork(err, where, 'imap.ca') ?? `the connection to ${where} failed: ${errorMessage(err)}`

  if (isIP(s.host) === 0) {
    try {
      const addresses = await lookup(s.host, { all: true })
      probe.pass('dns', `${s.host} is ${addresses.map(a => a.address).join(', ')}`)
    } catch (err) {
      return probe.fail('dns', errorMessage(err), networkFailure(err))
    }
  }

  const client = new ImapFlow(options)
  client.on('error', () => {})
  try {
    const connected = (): string => `${where} (${TLS_WORDS[s.tls ?? 'implicit']}), greeting "${client.greeting ?? ''}"`
    try {
      await client.connect()
    } catch (err) {
      if (!isLoginFailure(err)) return probe.fail('connect', errorMessage(err), networkFailure(err))
      probe.pass('connect', connected())
      return probe.fail('login', serverSaid(err as ImapRefusal), explainLogin(err as ImapRefusal, s, isExchange(s.host, client.greeting)))
    }
    probe.pass('connect', connected())
    probe.pass('login', `${s.user}, with ${s.auth?.accessToken !== undefined ? 'an access token' : 'a password'}`)

    const folder = s.folder ?? 'INBOX'
    let opened
    try {
      opened = await client.mailboxOpen(folder, { readOnly: true })
    } catch (err) {
      const folders = await client.list().then(list => list.map(f => f.path), () => [])
      return probe.fail('folder', serverSaid(err as ImapRefusal), explainFolder(err as ImapRefusal, folder, folders))
    }
    probe.pass('folder', `${folder}: ${opened.exists} messages (opened read-only)`)

    try {
      const validity = String(opened.uidValidity)
      const cursor = isImapCursor(o.cursor) && o.cursor.uidValidity === validity ? o.cursor : undefined
      const { uids } = await searchUids(client, s.search ?? 'unseen', o.afterDelivery, cursor, validity)
      const tally = new PreviewTally(o.maxBytes, 'exact')
      for (let i = 0; i < uids.length; i += FETCH_CHUNK) {
        const range = uidSet(uids.slice(i, i + FETCH_CHUNK))
        const listed = await client.fetchAll(range, { uid: true, size: true, internalDate: true }, { uid: true })
        for (const m of listed) tally.add(m.internalDate, m.size)
      }
      probe.pass('list', `the poll's search (${s.search ?? 'unseen'}) from the mailbox's cursor`)
      return probe.done(tally.preview(uids.length))
    } catch (err) {
      const explanation = explainNetwork(err, where, 'imap.ca') ?? 'the server failed while listing the folder: try again; if it persists, its log says why'
      return probe.fail('list', errorMessage(err), explanation)
    }
  } finally {
    await client.logout().catch(() => client.close())
  }
}
