/**
 * retention (cron, hourly): raw originals of emails that reached an end state
 * (delivered, rejected, failed) more than MAILSLOT_RAW_RETENTION_DAYS ago are
 * dropped and the email is marked `raw_purged_at`; its row, status and
 * parsed summary stay. Emails not yet in an end state are never purged: they
 * still need their bytes. Works in batches, one short transaction each, so a
 * large first purge never holds locks for long.
 */
import type { AppContext } from '../context.ts'
import { TERMINAL } from './lifecycle.ts'

export const RETENTION_CRON = '17 * * * *'

/** Emails purged per statement. */
export const PURGE_BATCH = 1000

/**
 * Both clocks must be past the retention: received_at uses the index and
 * handled_at keeps a late end state (a replay, a long retry) its full period.
 * FOR UPDATE SKIP LOCKED: an email being changed right now (a replay) is left
 * for the next run; a replay that comes after the purge finds raw_purged_at.
 */
const PURGE_SQL = `
  WITH due AS (
    SELECT id FROM inbound_emails
    WHERE raw_purged_at IS NULL
      AND received_at < now() - make_interval(days => $1)
      AND handled_at < now() - make_interval(days => $1)
      AND status = ANY($2::text[])
    ORDER BY received_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  )
  UPDATE inbound_emails e SET raw = NULL, raw_purged_at = now() FROM due WHERE e.id = due.id`

/** Purges every raw original past its retention; resolves to how many emails were purged. */
export async function purgeExpiredRaw (ctx: Pick<AppContext, 'pool' | 'settings' | 'log'>, batch = PURGE_BATCH): Promise<number> {
  let total = 0
  for (;;) {
    const { rowCount } = await ctx.pool.query(PURGE_SQL, [ctx.settings.rawRetentionDays, [...TERMINAL], batch])
    total += rowCount ?? 0
    if ((rowCount ?? 0) < batch) break
  }
  if (total > 0) ctx.log.info({ purged: total, retentionDays: ctx.settings.rawRetentionDays }, 'raw originals purged')
  return total
}
