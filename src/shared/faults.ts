/**
 * Fault injection points for crash tests. Inert unless MAILSLOT_FAULT names
 * the point, e.g. `MAILSLOT_FAULT=fetch.before-commit:crash` (SIGKILL this
 * process, as a power cut would), `…:throw`, or `…:blip` (once, the error
 * PostgreSQL gives while it shuts down).
 */
export type FaultPoint = 'fetch.before-commit' | 'fetch.after-commit' | 'handle.before-finish' | 'start.after-boss-start'

let blipped = false

export function faultPoint (point: FaultPoint): void {
  const spec = process.env.MAILSLOT_FAULT
  if (spec === undefined || spec === '') return
  const [name, action] = spec.split(':')
  if (name !== point) return
  if (action === 'crash') process.kill(process.pid, 'SIGKILL')
  if (action === 'blip') {
    if (blipped) return
    blipped = true
    throw Object.assign(new Error(`the database system is shutting down (injected at ${point})`), { code: '57P03' })
  }
  throw new Error(`injected fault at ${point}`)
}
