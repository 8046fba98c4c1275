/**
 * The apps a link's page offers, each with the words of its button and the
 * origin its form continues at (the page's CSP form-action must allow it).
 * Apps deleted since the link was made are left out.
 */
import type { Queryable } from '../../db/pool.ts'
import { listApps, type OAuthAppView } from '../apps/repository.ts'
import type { ConnectLink } from './links.ts'

export interface OfferedApp {
  name: string
  /** "Microsoft 365", "Google"; a Microsoft app is told apart by its access when the link offers both kinds. */
  provider: string
  /** The origin of its authorization endpoint. */
  origin: string
}

const DEFAULT_AUTHORITY = { microsoft: 'https://login.microsoftonline.com', google: 'https://accounts.google.com' } as const

function provider (app: OAuthAppView, all: OAuthAppView[]): string {
  if (app.kind === 'google') return 'Google'
  const access = app.access ?? 'graph'
  const mixed = all.some(o => o.kind === 'microsoft' && (o.access ?? 'graph') !== access)
  return mixed ? `Microsoft 365 (${access === 'graph' ? 'Graph' : 'IMAP'})` : 'Microsoft 365'
}

export async function offeredApps (db: Queryable, link: ConnectLink): Promise<OfferedApp[]> {
  const apps = (await listApps(db)).filter(a => link.apps.includes(a.name))
  return apps.map(a => ({
    name: a.name,
    provider: provider(a, apps),
    origin: new URL((a.kind === 'microsoft' ? a.authorityHost : a.issuer) ?? DEFAULT_AUTHORITY[a.kind]).origin
  }))
}
