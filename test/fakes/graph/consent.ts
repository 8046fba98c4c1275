// The interactive sign-in and consent page of both fake providers, for
// browser tests: GET /authorize shows it instead of redirecting at once; its
// form POSTs to /consent and the browser is then redirected back to the app
// (Accept: with a code; Cancel: with error=access_denied).
import { randomBytes } from 'node:crypto'
import { type Ctx, formBody, send } from './http.ts'

export interface ConsentRequest {
  /** "Microsoft" or "Google", shown in the title */
  provider: string
  clientId: string
  scopes: string[]
  /** who signs in, prefilled (login_hint or signInAs) */
  account?: string
  /** the user accepted as `account`: the redirect (with a code), or an error to show on the page */
  accept(account: string): URL | string
  /** the redirect for Cancel (error=access_denied) */
  cancel(): URL
}

export class ConsentPages {
  /** off: /authorize redirects at once (the default) */
  enabled = false
  private readonly pending = new Map<string, ConsentRequest>()

  show (ctx: Ctx, request: ConsentRequest, error?: string, id = randomBytes(16).toString('base64url')): void {
    this.pending.set(id, request)
    send(ctx, error ? 400 : 200, page(request, id, error), { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  }

  /** POST /consent; false for any other path. */
  handle (ctx: Ctx): boolean {
    if (ctx.path !== '/consent') return false
    const form = formBody(ctx)
    const id = form.get('request') ?? ''
    const request = this.pending.get(id)
    if (ctx.method !== 'POST' || !request) {
      send(ctx, 400, 'This sign-in request is unknown or already answered.', { 'content-type': 'text/plain; charset=utf-8' })
      return true
    }
    const account = (form.get('account') ?? '').trim()
    const outcome = form.get('action') === 'accept' ? request.accept(account) : request.cancel()
    if (typeof outcome === 'string') {
      this.show(ctx, { ...request, account }, outcome, id)
    } else {
      this.pending.delete(id)
      send(ctx, 302, undefined, { location: outcome.toString() })
    }
    return true
  }
}

function page (request: ConsentRequest, id: string, error?: string): string {
  const heading = request.account ? `Sign in as ${request.account}` : 'Sign in'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(`${heading} – ${request.provider} (fake)`)}</title></head>
<body><main>
<h1>${escape(heading)}</h1>
<p>${escape(request.provider)} app <code>${escape(request.clientId)}</code> asks for:</p>
<ul>${request.scopes.map((s) => `<li>${escape(s)}</li>`).join('')}</ul>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/consent">
<input type="hidden" name="request" value="${escape(id)}">
<label for="account">Account</label>
<input id="account" name="account" type="email" value="${escape(request.account ?? '')}" autocomplete="username">
<button type="submit" name="action" value="accept">Accept</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>
</main></body></html>
`
}

function escape (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
