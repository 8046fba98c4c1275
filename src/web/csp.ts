/**
 * The Content-Security-Policy of every page: nothing but our own stylesheet
 * and icon. No script runs (the pages need none), no inline style, no
 * framing, forms post only to us. A route that needs more (a form that
 * continues at an identity provider) passes its extra sources to
 * `pageCsp` in its route options:
 *   { helmet: { contentSecurityPolicy: pageCsp(https, { formAction: ['https://login.example'] }) } }
 * or, when they depend on the request (a connect link's apps), sets the
 * headers again from its handler: `await reply.helmet(helmetOptions(https, extra))`.
 */
export type Directives = Record<string, string[]>

export function pageCsp (https: boolean, extra: Directives = {}): { useDefaults: false, directives: Directives } {
  const directives: Directives = {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"]
  }
  for (const [name, sources] of Object.entries(extra)) directives[name] = [...(directives[name] ?? []), ...sources]
  // over plain http (a local install, the tests) upgrading would break every form and the stylesheet
  if (https) directives.upgradeInsecureRequests = []
  return { useDefaults: false, directives }
}

export interface HelmetOptions { contentSecurityPolicy: ReturnType<typeof pageCsp> }

/** The security headers of the pages (@fastify/helmet options), with `extra` CSP sources. */
export function helmetOptions (https: boolean, extra: Directives = {}): HelmetOptions {
  return { contentSecurityPolicy: pageCsp(https, extra) }
}
