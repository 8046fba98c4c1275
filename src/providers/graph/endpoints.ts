/**
 * Where a Graph mailbox's tokens and API live. `cloud` picks the national
 * cloud's login and Graph hosts; `authorityHost` / `baseUrl` override them
 * (a test fake, a proxy). The token scope stays the cloud's Graph resource.
 */
import type { GraphSettings } from '../../mailboxes/types.ts'

export type GraphCloud = NonNullable<GraphSettings['cloud']>

/** Login (authority) host and Graph host per national cloud (reference/graph.md). */
export const CLOUDS: Record<GraphCloud, { login: string, graph: string }> = {
  global: { login: 'https://login.microsoftonline.com', graph: 'https://graph.microsoft.com' },
  usgov: { login: 'https://login.microsoftonline.us', graph: 'https://graph.microsoft.us' },
  'usgov-dod': { login: 'https://login.microsoftonline.us', graph: 'https://dod-graph.microsoft.us' },
  china: { login: 'https://login.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn' }
}

export interface GraphEndpoints {
  authorityHost: string
  /** Graph origin without the version, e.g. https://graph.microsoft.com */
  baseUrl: string
  scope: string
  /** True when authorityHost is not the cloud's own: MSAL must not ask Microsoft about it. */
  customAuthority: boolean
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '')

export function endpointsOf (s: GraphSettings): GraphEndpoints {
  const cloud = CLOUDS[s.cloud ?? 'global']
  return {
    authorityHost: trimSlash(s.authorityHost ?? cloud.login),
    baseUrl: trimSlash(s.baseUrl ?? cloud.graph),
    scope: `${cloud.graph}/.default`,
    customAuthority: s.authorityHost !== undefined
  }
}
