/**
 * The test database server, shared by all test files of a run: DATABASE_URL
 * when set, else an embedded PostgreSQL in .tap/pg (started by test/setup/before.ts).
 * Each test file then gets a database of its own, cloned from a template that
 * already holds the migrations and the pg-boss schema.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const TEST_DATA_DIR = path.join(ROOT, '.tap', 'db')
const URL_FILE = path.join(TEST_DATA_DIR, 'server-url')
/** Name of the current template database, written by before.ts. */
export const TEMPLATE_FILE = path.join(ROOT, '.tap', 'template-db')

export async function templateDb (): Promise<string> {
  return (await readFile(TEMPLATE_FILE, 'utf8')).trim()
}

/** URL of the server (its `postgres` database). */
export async function serverUrl (): Promise<string> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') return process.env.DATABASE_URL
  try {
    return (await readFile(URL_FILE, 'utf8')).trim()
  } catch {
    throw new Error('no test database: run the tests with `npm test` (tap runs test/setup/before.ts first) or set DATABASE_URL')
  }
}

export { URL_FILE }

export function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = '/' + database
  return u.toString()
}
