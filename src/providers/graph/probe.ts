/**
 * The Graph probe: the tenant (the identity platform's discovery document),
 * an app-only token, the mailbox's folder, and the messages a poll would take,
 * listed by the poll's own delta query from the mailbox's cursor (GETs only:
 * a delta round changes nothing), with their dates and sizes from the
 * folder's message list. Graph has no size property on messages: the size is
 * Exchange's (PR_MESSAGE_SIZE, the extended property 0x0E08), close to the
 * MIME size, a little larger.
 */
import type { GraphAppSettings, GraphSettings } from '../../mailboxes/types.ts'
import { Probe, PreviewTally, probeToken, type ProbeOptions, type ProbeReport } from '../probe.ts'
import type { AccessTokens } from '../types.ts'
import type { GraphEndpoints } from './endpoints.ts'
import { explainNetwork } from '../network-errors.ts'
import { errorMessage } from '../../shared/errors.ts'
import { appCredential, GraphConnection } from './connection.ts'
import { endpointsOf } from './endpoints.ts'
import { GraphProvider } from './provider.ts'
import { explainAadsts, explainGraph, tokenRoles } from './explain.ts'

/** PR_MESSAGE_SIZE as a Graph single-value extended property. */
const SIZE_PROPERTY = 'Integer 0x0E08'
const PAGE = 1000
const DISCOVERY_TIMEOUT_MS = 30_000

interface Folder { id: string, displayName?: string, totalItemCount?: number, unreadItemCount?: number }
interface Listed { id: string, receivedDateTime?: string, singleValueExtendedProperties?: Array<{ id: string, value: string }> }
interface Page<T> { value?: T[], '@odata.nextLink'?: string }

const sizeOf = (m: Listed): number | undefined => {
  const value = m.singleValueExtendedProperties?.find(p => /0x0?e08$/i.test(p.id))?.value
  return value === undefined ? undefined : Number(value)
}

/** An app-only mailbox's tenant (the identity platform's discovery document, before any secret is sent) and app token. */
async function probeApp (probe: Probe, s: GraphAppSettings, e: GraphEndpoints): Promise<{ roles: string[] | undefined } | ProbeReport> {
  // the tenant: an unknown one answers 400 AADSTS90002 here, before any secret is sent
  const discovery = `${e.authorityHost}/${encodeURIComponent(s.tenantId)}/v2.0/.well-known/openid-configuration`
  try {
    const res = await fetch(discovery, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) })
    if (!res.ok) {
      const body = await res.json().catch(() => ({})) as { error_description?: string }
      const said = `${res.status} ${body.error_description?.split('\n')[0] ?? ''}`.trim()
      return probe.fail('tenant', said, explainAadsts(said) ?? `${e.authorityHost} does not know the tenant ${s.tenantId}: check graph.tenantId and graph.cloud`)
    }
    probe.pass('tenant', `${s.tenantId} at ${e.authorityHost}`)
  } catch (err) {
    return probe.fail('tenant', errorMessage(err), explainNetwork(err, e.authorityHost, 'NODE_EXTRA_CA_CERTS') ??
      `${e.authorityHost} cannot be reached: ${errorMessage(err)}`)
  }

  try {
    const token = await appCredential(s, e).getToken(e.scope)
    const roles = tokenRoles(token.token)
    probe.pass('token', `app ${s.clientId}${roles === undefined ? '' : `, application permissions: ${roles.join(', ') || 'none'}`}`)
    return { roles }
  } catch (err) {
    const said = errorMessage(err).split('\n')[0]
    return probe.fail('token', said, explainAadsts(errorMessage(err)) ?? explainNetwork(err, e.authorityHost, 'NODE_EXTRA_CA_CERTS') ??
      'the identity platform gave the app no token: check graph.tenantId, graph.clientId and graph.clientSecret')
  }
}

/** `tokens`: a connected mailbox's (graph.oauthApp), which reads with its account's delegated token. */
export async function probeGraph (
  s: GraphSettings, o: ProbeOptions, requestTimeoutMs?: number, tokens?: AccessTokens
): Promise<ProbeReport> {
  const probe = new Probe()
  let roles: string[] | undefined
  if (s.oauthApp === undefined) {
    const app = await probeApp(probe, s, endpointsOf(s))
    if ('steps' in app) return app
    roles = app.roles
  } else {
    const token = await probeToken(probe, tokens, s.oauthApp)
    if (typeof token === 'object') return token
  }

  const conn = new GraphConnection(s, requestTimeoutMs, tokens)
  const folderPath = `/users/${conn.user}/mailFolders/${encodeURIComponent(s.folder ?? 'Inbox')}`
  try {
    const f = await conn.call(async request => await request(folderPath).select('id,displayName,totalItemCount,unreadItemCount').get() as Folder)
    probe.pass('folder', `${s.user}: ${f.displayName ?? f.id}: ${f.totalItemCount ?? '?'} messages, ${f.unreadItemCount ?? '?'} unread`)
  } catch (err) {
    const folders = await conn.call(async request =>
      await request(`/users/${conn.user}/mailFolders`).select('id,displayName').top(100).get() as Page<Folder>
    ).then(p => (p.value ?? []).map(f => `${f.displayName ?? ''} (${f.id})`), () => [])
    return probe.fail('folder', errorMessage(err), explainGraph(err, s, roles, folders))
  }

  try {
    const { refs } = await new GraphProvider(s, o.afterDelivery, requestTimeoutMs, tokens).listNew(o.cursor)
    const wanted = new Set(refs.map(r => r.key))
    const tally = new PreviewTally(o.maxBytes, 'approximate')
    // newest first: new mail is usually found on the first page
    let next: string | undefined
    let first = true
    while (wanted.size > 0 && (first || next !== undefined)) {
      const page = await conn.call(async request => await (first
        ? request(`${folderPath}/messages`).select('id,receivedDateTime').expand(`singleValueExtendedProperties($filter=id eq '${SIZE_PROPERTY}')`).top(PAGE)
        : request(next!)).get() as Page<Listed>)
      first = false
      next = page['@odata.nextLink']
      for (const m of page.value ?? []) if (wanted.delete(m.id)) tally.add(m.receivedDateTime, sizeOf(m))
    }
    probe.pass('list', `the poll's delta query from the mailbox's cursor${o.afterDelivery === 'seen' ? ' (unread messages on a first poll)' : ''}`)
    return probe.done(tally.preview(refs.length))
  } catch (err) {
    return probe.fail('list', errorMessage(err), explainGraph(err, s, roles))
  }
}
