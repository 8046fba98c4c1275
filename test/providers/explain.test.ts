/**
 * The plain-words explanations of the mailbox doctor, case by case, for the
 * answers the test servers cannot give (Exchange's own texts, rarer IMAP
 * response codes, TLS and network codes, the AADSTS table, Graph's answers).
 */
import t from 'tap'
import { explainNetwork } from '../../src/providers/network-errors.ts'
import { explainFolder, explainLogin, isExchange } from '../../src/providers/imap/explain.ts'
import { explainAadsts, explainGraph, tokenRoles } from '../../src/providers/graph/explain.ts'
import { GraphRequestError } from '../../src/providers/graph/errors.ts'
import { ProviderAuthError } from '../../src/providers/types.ts'
import type { GraphSettings, ImapSettings } from '../../src/mailboxes/types.ts'

const imap: ImapSettings = { host: 'imap.example.com', user: 'support@example.com', password: 'x' }
const graph: GraphSettings = { tenantId: 't', clientId: 'c', clientSecret: 's', user: 'support@contoso.com', folder: 'Inbox' }
const coded = (code: string, message = 'failed'): Error => Object.assign(new Error(message), { code })

t.test('Exchange is known by host or greeting', async t => {
  t.ok(isExchange('outlook.office365.com', undefined))
  t.ok(isExchange('outlook.office365.us', undefined), 'GCC High')
  t.ok(isExchange('partner.outlook.cn', undefined), '21Vianet')
  t.notOk(isExchange('notoutlook.office365.com.example', undefined))
  t.ok(isExchange('mail.example.com', 'The Microsoft Exchange IMAP4 service is ready.'))
  t.notOk(isExchange('imap.example.com', 'Dovecot ready.'))
})

t.test('IMAP logins', async t => {
  const said = (responseText: string, serverResponseCode?: string) => ({ responseText, serverResponseCode, message: 'Command failed' })
  t.match(explainLogin(said('LOGIN failed.'), imap, true), /basic authentication .* tenant-wide/)
  t.match(explainLogin(said('Basic authentication is disabled.'), imap, false), /basic authentication/, 'outlook.com says it outright')
  t.match(explainLogin(said('AUTHENTICATE failed.'), { ...imap, password: undefined, auth: { accessToken: 't' } }, true), /IMAP\.AccessAsApp/)
  t.match(explainLogin(said('Try later', 'UNAVAILABLE'), imap, false), 'try again later')
  t.match(explainLogin(said('Password expired', 'EXPIRED'), imap, false), 'has expired')
  t.match(explainLogin(said('Plaintext authentication disallowed on non-secure (SSL/TLS) connections.'), imap, false), 'only over TLS')
  t.match(explainLogin(said('Login requires SSL', 'PRIVACYREQUIRED'), imap, false), 'only over TLS')
  t.match(explainLogin(said('[ALERT] Application-specific password required'), imap, false), 'app password')
  t.match(explainLogin({ message: 'Unsupported authentication mechanism' }, imap, false), 'no password login')
  t.match(explainLogin(said('Authentication failed.', 'AUTHENTICATIONFAILED'), imap, false), 'refused support@example.com with this password')
})

t.test('IMAP folders', async t => {
  t.match(explainFolder({ responseText: 'User is authenticated but not connected.' }, 'INBOX', []), /IMAP is disabled for this user/)
  t.match(explainFolder({ responseText: 'Unknown Mailbox: X', serverResponseCode: 'NONEXISTENT' }, 'X', ['INBOX', 'Sent']), 'this user has: INBOX, Sent')
  t.match(explainFolder({ responseText: 'Permission denied' }, 'Shared/X', []), 'rights')
})

t.test('network and TLS', async t => {
  const where = 'imap.example.com:993'
  const cases: Array<[Error, RegExp]> = [
    [coded('ENOTFOUND'), /does not resolve/],
    [coded('EAI_AGAIN'), /DNS gave no answer/],
    [coded('ECONNREFUSED'), /nothing accepts connections/],
    [coded('EHOSTUNREACH'), /no network route/],
    [coded('ECONNRESET'), /cut the connection/],
    [coded('GREETING_TIMEOUT'), /no answer .* in time/],
    [Object.assign(new TypeError('fetch failed'), { cause: coded('UND_ERR_CONNECT_TIMEOUT') }), /in time/],
    [coded('SELF_SIGNED_CERT_IN_CHAIN'), /self-signed.*imap\.ca/],
    [coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), /CA this machine does not trust/],
    [coded('CERT_HAS_EXPIRED'), /has expired/],
    [coded('CERT_NOT_YET_VALID'), /clock/],
    [coded('ERR_TLS_CERT_ALTNAME_INVALID'), /other names/],
    [coded('ERR_SSL_WRONG_VERSION_NUMBER'), /handshake .* failed/],
    [new Error('write EPROTO 0A00010B:SSL routines:ssl3_get_record:wrong version number'), /handshake/]
  ]
  for (const [err, expected] of cases) t.match(explainNetwork(err, where, 'imap.ca'), expected, (err as { code?: string }).code ?? err.message)
  t.equal(explainNetwork(new Error('something else'), where, 'imap.ca'), undefined)
})

t.test('AADSTS codes', async t => {
  t.match(explainAadsts('AADSTS7000222: The provided client secret keys are expired.'), 'has expired')
  t.match(explainAadsts('invalid_grant: AADSTS65001: The user or administrator has not consented'), 'admin consent')
  t.match(explainAadsts('AADSTS90002: Tenant not found'), 'no tenant')
  t.match(explainAadsts('AADSTS53003: Access has been blocked by Conditional Access policies.'), 'Conditional Access')
  t.match(explainAadsts('AADSTS99999: Something new'), 'https://login.microsoftonline.com/error?code=99999')
  t.equal(explainAadsts('no code here'), undefined)
})

t.test('Graph answers', async t => {
  const denied = new ProviderAuthError('Graph refused access (403 ErrorAccessDenied): Access is denied.', { status: 403, code: 'ErrorAccessDenied' })
  t.match(explainGraph(denied, graph, []), /no Mail\.ReadWrite application permission \(it has: none\)/, 'a token without the role: consent missing')
  t.match(explainGraph(denied, graph, ['Mail.Read']), /it has: Mail\.Read\)/)
  t.match(explainGraph(denied, graph, ['Mail.ReadWrite']), /either the Mail\.ReadWrite application permission lacks admin consent/)
  t.match(explainGraph(new ProviderAuthError('Graph refused access (401 InvalidAuthenticationToken)', { status: 401, code: 'InvalidAuthenticationToken' }), graph, undefined), 'another cloud')
  t.match(explainGraph(new GraphRequestError(404, 'MailboxNotEnabledForRESTAPI', 'REST API is not yet supported for this mailbox.'), graph, undefined), 'no Exchange Online mailbox')
  t.match(explainGraph(new GraphRequestError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.'), graph, undefined), 'no folder "Inbox"')
  t.match(explainGraph(new GraphRequestError(503, 'ServiceUnavailable', 'down'), graph, undefined), 'try again')
  t.match(explainGraph(new GraphRequestError(400, 'BadRequest', 'odd'), graph, undefined), '(400 BadRequest)')
  t.match(explainGraph(new ProviderAuthError('Microsoft identity platform refused the app credentials: AADSTS7000215: Invalid client secret'), graph, undefined), 'secret\'s Value')
})

t.test('token roles', async t => {
  const jwt = (claims: object): string => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.')
  t.same(tokenRoles(jwt({ roles: ['Mail.ReadWrite'] })), ['Mail.ReadWrite'])
  t.same(tokenRoles(jwt({ aud: 'x' })), [], 'no roles claim: no application permission consented')
  t.equal(tokenRoles('opaque-token'), undefined, 'not a JWT: unknown')
})
