/**
 * Fault injection points for crash tests. Inert unless MAILSLOT_FAULT names
 * the point, e.g. `MAILSLOT_FAULT=fetch.before-commit:crash` (SIGKILL this
 * process, as a power cut would) or `…:throw`.
 */
export type FaultPoint = 'fetch.before-commit' | 'fetch.after-commit' | 'handle.before-finish'

export function faultPoint (point: FaultPoint): void {
  const spec = process.env.MAILSLOT_FAULT
  if (spec === undefined || spec === '') return
  const [name, action] = spec.split(':')
  if (name !== point) return
  if (action === 'crash') process.kill(process.pid, 'SIGKILL')
  throw new Error(`injected fault at ${point}`)
}
