/**
 * A point in time as an operator writes it: an ISO 8601 time
 * (`2026-05-01`, `2026-05-01T08:00:00Z`, `2026-05-01T10:00+02:00`; a time
 * without a zone is local, a date alone is midnight UTC, as JavaScript reads
 * them) or a duration back from now (`30m`, `24h`, `7d`, `2w`).
 */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i
const DURATION = /^(\d+)(m|h|d|w)$/
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/** The time `value` names; null when it is neither form. */
export function parseSince (value: string, now = new Date()): Date | null {
  const text = value.trim()
  const duration = DURATION.exec(text)
  if (duration !== null) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]])
  if (!ISO.test(text)) return null
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : new Date(at)
}
