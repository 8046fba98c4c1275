/** The provider for a mailbox. */
import type { Mailbox } from '../mailboxes/types.ts'
import { ImapProvider } from './imap/provider.ts'
import type { AccessTokens, Provider } from './types.ts'

/** `tokens`: the mailbox's OAuth access tokens, used when its settings say it is a connected one. */
export type ProviderFactory = (mailbox: Mailbox, tokens?: AccessTokens) => Provider

const factories: Partial<Record<Mailbox['spec']['provider'], ProviderFactory>> = {
  imap: (m, tokens) => new ImapProvider(m.spec.imap!, m.spec.afterDelivery ?? 'seen', tokens)
}

/** Graph registers itself here (src/providers/graph), keeping this file free of its imports. */
export function registerProvider (kind: Mailbox['spec']['provider'], factory: ProviderFactory): void {
  factories[kind] = factory
}

export function createProvider (mailbox: Mailbox, tokens?: AccessTokens): Provider {
  const factory = factories[mailbox.spec.provider]
  if (factory === undefined) throw new Error(`no provider for "${mailbox.spec.provider}"`)
  return factory(mailbox, tokens)
}
