/**
 * A private Dovecot that takes XOAUTH2 / OAUTHBEARER logins with access tokens
 * of the fake identity platform (test/fakes/graph): Microsoft tokens for
 * `https://outlook.office.com/IMAP.AccessAsUser.All` and Google tokens for
 * `https://mail.google.com/`, each for the account that granted it (login
 * name = UPN or Google address). Dovecot asks a plain-HTTP introspection
 * endpoint on loopback, which answers from the fake's token store: expired or
 * revoked tokens (`fake.revokeGrants`) stop logging in at once.
 *
 *   const { fake, imap, stop } = await startOAuthImap()
 *   t.teardown(() => stop())
 *   const alice = fake.addMailbox('alice@contoso.example')   // Microsoft account
 *   const carol = fake.google.addUser('carol@customer.example')
 *   await imap.append(carol.email, 'INBOX', raw)            // mail lives in Dovecot
 *   new ImapFlow(imap.clientOptions({ user: carol.email, accessToken }))
 */
import { type FakeGraph, type FakeGraphOptions, startFakeGraph } from '../fakes/graph/index.ts'
import { type Dovecot, type StartDovecotOptions, startDovecot } from './dovecot.ts'
import { type Introspection, startIntrospection } from './dovecot-oauth.ts'

export interface OAuthImap {
  fake: FakeGraph
  imap: Dovecot
  introspection: Introspection
  /** Stops Dovecot and the introspection endpoint, and the fake when this call started it. */
  stop(): Promise<void>
}

export interface OAuthImapOptions {
  /** An already running fake (e.g. a graphFixture's); default: a new one, started with `fakeOptions`. */
  fake?: FakeGraph
  fakeOptions?: FakeGraphOptions
  /** Extra Dovecot options (`ssl: true` for IMAPS...); the introspection URL is set here. */
  dovecot?: StartDovecotOptions
}

export async function startOAuthImap (options: OAuthImapOptions = {}): Promise<OAuthImap> {
  const fake = options.fake ?? await startFakeGraph(options.fakeOptions)
  const ownFake = options.fake === undefined
  const introspection = await startIntrospection(new Map(), (token) => fake.introspect(token))
  let imap: Dovecot
  try {
    imap = await startDovecot({ ...options.dovecot, oauth2IntrospectionUrl: introspection.url })
  } catch (err) {
    await introspection.close()
    if (ownFake) await fake.close()
    throw err
  }
  return {
    fake, imap, introspection,
    async stop () {
      await imap.stop()
      await introspection.close()
      if (ownFake) await fake.close()
    },
  }
}
