/**
 * Forward-only migrations: numbered files `sql/NNNN_name.sql`, each applied
 * once, in order, in its own transaction, under an advisory lock so that two
 * processes migrating at the same moment apply each file exactly once.
 * Refuses a database that has migrations this code does not know (newer).
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { releaseClient, type Pool } from './pool.ts'
import { errorMessage } from '../shared/errors.ts'

export const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sql')
/** Arbitrary constant: the advisory lock key all mailslot migrators share. */
const MIGRATION_LOCK = 727_001

export interface Migration { id: number, name: string, file: string }

export async function listMigrations (dir = SQL_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter(f => /^\d{4}_[\w-]+\.sql$/.test(f)).sort()
  return files.map(file => ({ id: Number(file.slice(0, 4)), name: file.slice(5, -4), file: path.join(dir, file) }))
}

export class MigrationError extends Error {}

/** Applies pending migrations; returns the ids it applied. */
export async function migrate (pool: Pool, dir = SQL_DIR): Promise<number[]> {
  const migrations = await listMigrations(dir)
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS mailslot_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await client.query<{ id: number }>('SELECT id FROM mailslot_migrations')).rows.map(r => r.id))
    const known = new Set(migrations.map(m => m.id))
    const unknown = [...done].filter(id => !known.has(id))
    if (unknown.length > 0) {
      throw new MigrationError(`the database has migrations this mailslot does not know (${unknown.join(', ')}): it was migrated by a newer version`)
    }
    for (const m of migrations) {
      if (done.has(m.id)) continue
      const sql = await readFile(m.file, 'utf8')
      await client.query('BEGIN')
      try {
        await client.query(sql)
        await client.query('INSERT INTO mailslot_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw new MigrationError(`migration ${path.basename(m.file)} failed: ${errorMessage(err)}`, { cause: err })
      }
      applied.push(m.id)
    }
  } finally {
    // a failed unlock means a dead connection: discarded, the lock dies with its session
    let broken: unknown
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch((err: unknown) => { broken = err })
    releaseClient(client, broken)
  }
  return applied
}
