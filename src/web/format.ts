/**
 * What templates call to show values (`it.h.ago(iso)` …): times relative with
 * the exact time on hover, states as a word and a colour.
 */
const UNITS: Array<[number, string]> = [[86400, 'day'], [3600, 'hour'], [60, 'min']]

/** "3 min ago", "in 2 days", "just now"; '' for null. */
export function ago (iso: string | null, now = Date.now()): string {
  if (iso === null) return ''
  const seconds = Math.round((now - Date.parse(iso)) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 60) return seconds >= 0 ? 'just now' : 'in under a minute'
  const [size, unit] = UNITS.find(([s]) => abs >= s) as [number, string]
  const n = Math.floor(abs / size)
  const amount = unit === 'min' ? `${n} min` : `${n} ${unit}${n === 1 ? '' : 's'}`
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`
}

/** "2026-11-01 12:00:05 UTC"; '' for null. */
export function exact (iso: string | null): string {
  return iso === null ? '' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')
}

/** The badge colour of a state: health states, email statuses, connection, subscription and connect-link states. */
export function tone (state: string | null | undefined): 'good' | 'bad' | 'warn' | 'idle' {
  switch (state) {
    case 'ok': case 'delivered': case 'connected': case 'active': case 'used': return 'good'
    case 'failing': case 'auth_failed': case 'reauth_required': case 'failed': case 'expired': return 'bad'
    case 'rejected': case 'open': return 'warn'
    default: return 'idle'
  }
}

/** A state code as words: `reauth_required` → "reauth required". */
export function words (code: string | null | undefined): string {
  return code == null ? '' : code.replaceAll('_', ' ')
}

export const helpers = { ago, exact, tone, words }
