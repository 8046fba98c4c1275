/** The routing options a mailbox implies, in one place for every delivery. */
import { route, type RouteOptions, type RoutingResult } from '../routing/route.ts'
import type { ParsedEmail } from '../parsing/types.ts'
import type { Mailbox } from '../mailboxes/types.ts'

/** Routing under a mailbox's settings; `extra` adds what only some deliveries know (custom addresses). */
export function routeFor (parsed: ParsedEmail, mailbox: Mailbox, extra: Partial<RouteOptions> = {}): RoutingResult {
  return route(parsed, {
    wildcard: mailbox.spec.address ?? null,
    rejectPrecedenceBulk: mailbox.spec.rejectPrecedenceBulk ?? false,
    ...extra
  })
}
