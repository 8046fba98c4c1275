/** The admin pages without a browser: a signed-in session over fetch, for tests that only read pages. */

/** A sign-in form as a browser would post it: the CSRF cookie and token of a GET /admin, then POSTs of a token with them. */
export async function signInForm (address: string): Promise<(token: string) => Promise<Response>> {
  const res = await fetch(`${address}/admin`)
  const cookie = res.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? ''
  return async (token) => await fetch(`${address}/admin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token })
  })
}

export interface PageAnswer { status: number, html: string, headers: Headers }

/** GET of an admin page with a fresh session: its status and HTML. */
export async function adminPages (address: string, token: string): Promise<(path: string) => Promise<PageAnswer>> {
  const signedIn = await (await signInForm(address))(token)
  if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}`)
  const cookie = signedIn.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')
  return async (path) => {
    const res = await fetch(address + path, { headers: { cookie }, redirect: 'manual' })
    return { status: res.status, html: await res.text(), headers: res.headers }
  }
}
